//! A support type's resolution reasons in its editor: add, relabel,
//! reorder (Move up / Move down with the keyboard, or drag), archive and
//! restore. Archived reasons stay on the sessions resolved with them.
//!
//! Every change answers with the type's whole list, which replaces the one
//! shown; a move is shown at once (in the domain's own order,
//! [`domain::support_types::move_to`]) and rolled back, with a toast that
//! says why, when the server refuses it.

use domain::{
    support_types::{ResolutionReason, move_to},
    types::{ReasonId, SupportTypeId},
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::caller;
use super::support_types::{INPUT, field_error};
use crate::{AppError, components::toast::Toasts};

/// The type's reasons, archived ones too, in order.
#[cfg(feature = "ssr")]
async fn all(
    pool: &sqlx::PgPool,
    actor: &domain::actor::Actor,
    type_id: SupportTypeId,
) -> Result<Vec<ResolutionReason>, AppError> {
    Ok(domain::support_types::list_reasons(pool, actor, type_id, true).await?)
}

/// Adds a reason at the end; answers with the type's reasons.
#[server(endpoint = "admin/reason/add")]
pub async fn add_reason(type_id: SupportTypeId, label: String) -> Result<Vec<ResolutionReason>, AppError> {
    let (pool, actor) = caller().await?;
    domain::support_types::create_reason(&pool, &actor, type_id, &label).await?;
    all(&pool, &actor, type_id).await
}

/// Relabels, moves or (un)archives a reason; answers with the type's reasons.
#[server(endpoint = "admin/reason/save")]
pub async fn save_reason(
    type_id: SupportTypeId,
    reason_id: ReasonId,
    label: Option<String>,
    position: Option<i32>,
    archived: Option<bool>,
) -> Result<Vec<ResolutionReason>, AppError> {
    let (pool, actor) = caller().await?;
    domain::support_types::update_reason(
        &pool,
        &actor,
        type_id,
        reason_id,
        label.as_deref(),
        position,
        archived,
    )
    .await?;
    all(&pool, &actor, type_id).await
}

/// The list with `id` moved to `position`, numbered as the domain numbers it.
fn reordered(list: &[ResolutionReason], id: ReasonId, position: i32) -> Vec<ResolutionReason> {
    let mut ids: Vec<ReasonId> = list.iter().map(|r| r.id).collect();
    move_to(&mut ids, id, position);
    ids.iter()
        .zip(1..)
        .filter_map(|(id, position)| {
            list.iter().find(|r| r.id == *id).map(|r| ResolutionReason { position, ..r.clone() })
        })
        .collect()
}

const SMALL_BUTTON: &str = "rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-40 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

#[component]
pub fn ReasonsEditor(
    type_id: SupportTypeId,
    reasons: Vec<ResolutionReason>,
    toasts: Toasts,
) -> impl IntoView {
    let list = RwSignal::new(reasons);
    // What to go back to if the change in flight is refused.
    let before = StoredValue::new(None::<Vec<ResolutionReason>>);
    let save = ServerAction::<SaveReason>::new();
    let add = ServerAction::<AddReason>::new();
    let new_label = RwSignal::new(String::new());
    let dragging = RwSignal::new(None::<ReasonId>);

    Effect::new(move |_| match save.value().get() {
        Some(Ok(fresh)) => {
            list.set(fresh);
            before.set_value(None);
        }
        Some(Err(e)) => {
            if let Some(previous) = before.get_value() {
                list.set(previous);
            }
            before.set_value(None);
            toasts.error(format!("Not changed: {}", e.user_message()));
        }
        None => {}
    });
    Effect::new(move |_| {
        if let Some(Ok(fresh)) = add.value().get() {
            if let Some(r) = fresh.last() {
                toasts.success(format!("Added {}", r.label));
            }
            list.set(fresh);
            new_label.set(String::new());
        }
    });
    let add_error = Signal::derive(move || add.value().get().and_then(Result::err));
    let add_message = field_error(add_error, "label");
    let add_other = move || match add_error.get() {
        Some(AppError::Domain(domain::Error::Invalid { field, .. })) if field == "label" => None,
        Some(e) => Some(e.user_message()),
        None => None,
    };

    let change =
        move |reason_id: ReasonId, label: Option<String>, position: Option<i32>, archived: Option<bool>| {
            // A refused change (a move, or a label) is rolled back to this.
            before.set_value(Some(list.get_untracked()));
            if let Some(position) = position {
                list.update(|l| *l = reordered(l, reason_id, position));
            }
            save.dispatch(SaveReason { type_id, reason_id, label, position, archived });
        };
    // Moves among the active reasons: to the place of the neighbour.
    let neighbour = move |id: ReasonId, step: isize| -> Option<i32> {
        let active: Vec<ResolutionReason> =
            list.get().into_iter().filter(|r| r.archived_at.is_none()).collect();
        let at = active.iter().position(|r| r.id == id)?;
        let to = at.checked_add_signed(step)?;
        active.get(to).map(|r| r.position)
    };
    // What a screen reader hears after a move.
    let announced = RwSignal::new(String::new());
    // A move by keyboard keeps the focus on the button that moved the
    // reason (the list is drawn anew), and says where it went.
    let moved = move |id: ReasonId, step: isize, button: &'static str| {
        let Some(position) = neighbour(id, step) else { return };
        change(id, None, Some(position), None);
        let active: Vec<ResolutionReason> =
            list.get_untracked().into_iter().filter(|r| r.archived_at.is_none()).collect();
        if let Some(at) = active.iter().position(|r| r.id == id) {
            announced.set(format!("{} moved to place {} of {}", active[at].label, at + 1, active.len()));
        }
        #[cfg(feature = "hydrate")]
        set_timeout(
            move || {
                use wasm_bindgen::JsCast;
                if let Some(el) = document()
                    .get_element_by_id(&format!("reason-{button}-{id}"))
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = el.focus();
                }
            },
            std::time::Duration::ZERO,
        );
        #[cfg(not(feature = "hydrate"))]
        let _ = button;
    };
    let on_drop = move |target: ReasonId| {
        let Some(from) = dragging.get_untracked() else { return };
        dragging.set(None);
        if from == target {
            return;
        }
        if let Some(position) = list.get_untracked().iter().find(|r| r.id == target).map(|r| r.position) {
            change(from, None, Some(position), None);
        }
    };

    view! {
        <section aria-labelledby="reasons-heading" class="space-y-3">
            <h2 id="reasons-heading" class="text-base font-semibold">"Resolution reasons"</h2>
            <p class="sr-only" aria-live="polite" data-testid="reasons-announcement">{move || announced.get()}</p>
            <p id="reasons-help" class="text-sm text-slate-600">
                "Agents pick one when they resolve a session of this type, in this order. Drag a reason, or use Move up and Move down, to reorder. Archived reasons stay on the sessions resolved with them."
            </p>
            {move || {
                let active: Vec<ResolutionReason> = list.get().into_iter().filter(|r| r.archived_at.is_none()).collect();
                if active.is_empty() {
                    return view! {
                        <p class="rounded-lg border border-dashed border-slate-300 p-4 text-sm text-slate-500" data-testid="reasons-empty">
                            "No reasons yet. Add the first below; agents then choose one when they resolve."
                        </p>
                    }.into_any();
                }
                let last = active.len() - 1;
                view! {
                    <ol class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white" data-testid="reasons" aria-describedby="reasons-help">
                        {active.into_iter().enumerate().map(|(i, r)| {
                            let id = r.id;
                            let label = r.label.clone();
                            let input_id = format!("reason-{id}");
                            view! {
                                <li draggable="true" data-reason=r.label.clone()
                                    class=move || if dragging.get() == Some(id) { "flex items-center gap-2 bg-indigo-50 px-3 py-2 opacity-60" } else { "flex items-center gap-2 px-3 py-2" }
                                    on:dragstart=move |_| dragging.set(Some(id))
                                    on:dragend=move |_| dragging.set(None)
                                    on:dragover=move |ev| ev.prevent_default()
                                    on:drop=move |ev| { ev.prevent_default(); on_drop(id); }>
                                    <span aria-hidden="true" class="cursor-grab select-none text-slate-400">"⠿"</span>
                                    <span class="w-6 text-right text-xs tabular-nums text-slate-500">{i + 1}"."</span>
                                    <label for=input_id.clone() class="sr-only">{format!("Label of {label}")}</label>
                                    <input id=input_id value=r.label.clone() class="min-w-0 flex-1 rounded-md border border-transparent px-2 py-1 text-sm hover:border-slate-300 focus-visible:border-slate-300 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                                        on:change=move |ev| {
                                            let text = event_target_value(&ev);
                                            change(id, Some(text), None, None);
                                        }/>
                                    <button type="button" class=SMALL_BUTTON disabled=i == 0 id=format!("reason-up-{id}")
                                        aria-label=format!("Move {label} up")
                                        on:click=move |_| moved(id, -1, "up")>
                                        "↑"
                                    </button>
                                    <button type="button" class=SMALL_BUTTON disabled=i == last id=format!("reason-down-{id}")
                                        aria-label=format!("Move {label} down")
                                        on:click=move |_| moved(id, 1, "down")>
                                        "↓"
                                    </button>
                                    <button type="button" class=SMALL_BUTTON aria-label=format!("Archive {label}")
                                        on:click=move |_| change(id, None, None, Some(true))>
                                        "Archive"
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            {move || {
                let archived: Vec<ResolutionReason> = list.get().into_iter().filter(|r| r.archived_at.is_some()).collect();
                (!archived.is_empty()).then(|| view! {
                    <div>
                        <h3 class="text-sm font-medium text-slate-700">"Archived"</h3>
                        <ul class="mt-1 space-y-1" data-testid="archived-reasons">
                            {archived.into_iter().map(|r| {
                                let id = r.id;
                                let label = r.label.clone();
                                view! {
                                    <li class="flex items-center justify-between gap-2 text-sm text-slate-500">
                                        <span class="line-through">{r.label}</span>
                                        <button type="button" class=SMALL_BUTTON aria-label=format!("Restore {label}")
                                            on:click=move |_| change(id, None, None, Some(false))>
                                            "Restore"
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                })
            }}
            <form class="flex flex-wrap items-start gap-2" aria-label="Add a resolution reason"
                on:submit=move |ev| {
                    ev.prevent_default();
                    add.dispatch(AddReason { type_id, label: new_label.get_untracked() });
                }>
                <div class="min-w-0 flex-1">
                    <label for="new-reason" class="sr-only">"New reason"</label>
                    <input id="new-reason" placeholder="New reason, e.g. Refund issued" class=INPUT.replace("mt-1 ", "")
                        prop:value=move || new_label.get()
                        on:input=move |ev| new_label.set(event_target_value(&ev))
                        aria-invalid=move || add_message().is_some().then_some("true")
                        aria-describedby=move || add_message().is_some().then_some("new-reason-error")/>
                    <p id="new-reason-error" class="mt-1 text-sm text-rose-700" hidden=move || add_message().is_none()>
                        {add_message}
                    </p>
                    <p role="alert" class="mt-1 text-sm text-rose-700" hidden=move || add_other().is_none()>{add_other}</p>
                </div>
                <button type="submit" disabled=move || add.pending().get()
                    class="rounded-lg border border-indigo-600 px-3 py-2 text-sm font-medium text-indigo-700 hover:bg-indigo-50 disabled:opacity-60 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Add reason"
                </button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(label: &str, position: i32, archived: bool) -> ResolutionReason {
        ResolutionReason {
            id: ReasonId(uuid::Uuid::new_v4()),
            support_type_id: SupportTypeId(uuid::Uuid::nil()),
            label: label.into(),
            position,
            archived_at: archived.then(chrono::Utc::now),
        }
    }

    #[test]
    fn a_move_is_numbered_like_the_domain_numbers_it() {
        let list = vec![reason("a", 1, false), reason("old", 2, true), reason("b", 3, false)];
        let moved = reordered(&list, list[2].id, 1);
        let got: Vec<(&str, i32)> = moved.iter().map(|r| (r.label.as_str(), r.position)).collect();
        assert_eq!(got, [("b", 1), ("a", 2), ("old", 3)]);
        assert!(moved[2].archived_at.is_some());
    }
}
