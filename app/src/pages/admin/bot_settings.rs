//! The support type editor's "Bot" section: who speaks for the type's bot
//! (a program through the API, or the built-in bot), its confidence
//! threshold, turn limit, handoff keywords and the model's instructions
//! ([`domain::bot::BotSettings`]; the same as `PUT
//! /api/v1/support-types/{id}/bot`).

use domain::{
    bot::{BotMode, BotSettings},
    types::SupportTypeId,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::caller;
use crate::{
    AppError,
    components::{alert::ErrorAlert, toast::Toasts},
};

/// A type's bot settings, with the type they belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotSection {
    pub support_type_id: SupportTypeId,
    pub settings: BotSettings,
}

/// The type's bot settings (admins of its account).
#[server(endpoint = "admin/support-type/bot")]
pub async fn load_bot_settings(id: SupportTypeId) -> Result<BotSection, AppError> {
    let (pool, actor) = caller().await?;
    Ok(BotSection { support_type_id: id, settings: domain::bot::settings(&pool, &actor, id).await? })
}

/// Saves the form: numbers and keywords come as the admin typed them.
#[server(endpoint = "admin/support-type/bot/save")]
pub async fn save_bot_settings(
    id: SupportTypeId,
    mode: String,
    threshold: String,
    turn_limit: String,
    keywords: String,
    instructions: String,
) -> Result<BotSection, AppError> {
    let (pool, actor) = caller().await?;
    let settings = BotSettings {
        mode: mode.parse()?,
        threshold: threshold.trim().parse::<f32>().map_err(|_| {
            domain::Error::invalid("threshold", format!("{threshold:?} is not a number from 0 to 1"))
        })?,
        turn_limit: turn_limit.trim().parse::<i16>().map_err(|_| {
            domain::Error::invalid("turn_limit", format!("{turn_limit:?} is not a whole number from 1 to 50"))
        })?,
        handoff_keywords: keywords.split([',', '\n']).map(str::to_owned).collect(),
        instructions,
    };
    Ok(BotSection {
        support_type_id: id,
        settings: domain::bot::update_settings(&pool, &actor, id, settings).await?,
    })
}

const INPUT: &str = "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

#[component]
pub fn BotSettingsEditor(type_id: SupportTypeId, toasts: Toasts) -> impl IntoView {
    let settings = Resource::new(move || type_id, load_bot_settings);
    let save = ServerAction::<SaveBotSettings>::new();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            toasts.success("Saved the bot settings");
            settings.refetch();
        }
        Some(Err(e)) => toasts.error(format!("Bot settings not saved: {}", e.user_message())),
        None => {}
    });
    let error = move || save.value().get().and_then(Result::err).map(|e| e.user_message());
    view! {
        <section aria-labelledby="bot-heading" class="rounded-xl border border-slate-200 bg-white p-4">
            <h2 id="bot-heading" class="text-base font-semibold">"Bot"</h2>
            <p class="mt-1 text-sm text-slate-600">
                "With bot-first routing, the type's bot takes each new chat. A program can drive it through the API, "
                "or the built-in bot answers from the canned replies and past answers (and a language model when one is configured)."
            </p>
            <Transition fallback=|| view! { <p class="mt-3 text-sm text-slate-600">"Loading…"</p> }>
                {move || settings.get().map(|r| match r {
                    Err(e) => view! { <div class="mt-3"><ErrorAlert title="The bot settings could not be loaded" message=e.user_message()/></div> }.into_any(),
                    Ok(BotSection { settings: s, .. }) => view! {
                        <ActionForm action=save attr:class="mt-4 space-y-4" attr:aria-label="Bot settings">
                            <input type="hidden" name="id" value=type_id.to_string()/>
                            <fieldset>
                                <legend class="text-sm font-medium text-slate-900">"Who answers"</legend>
                                <label class="mt-2 flex items-center gap-2 text-sm">
                                    <input type="radio" name="mode" value="external" checked=s.mode == BotMode::External/>
                                    "A program, through the API (the bot's token)"
                                </label>
                                <label class="mt-1 flex items-center gap-2 text-sm">
                                    <input type="radio" name="mode" value="auto" checked=s.mode == BotMode::Auto/>
                                    "The built-in bot"
                                </label>
                                <label class="mt-1 flex items-center gap-2 text-sm">
                                    <input type="radio" name="mode" value="drafts" checked=s.mode == BotMode::Drafts/>
                                    "The built-in bot drafts; a person sends each reply"
                                </label>
                            </fieldset>
                            <div class="grid gap-4 sm:grid-cols-2">
                                <label class="block text-sm font-medium text-slate-900">"Confidence threshold"
                                    <input name="threshold" type="number" min="0" max="1" step="0.05" required
                                        value=format!("{:.2}", s.threshold) aria-describedby="bot-threshold-help" class=INPUT/>
                                    <span id="bot-threshold-help" class="mt-0.5 block text-xs font-normal text-slate-600">
                                        "0 to 1. Below it the bot asks once, then hands off."
                                    </span>
                                </label>
                                <label class="block text-sm font-medium text-slate-900">"Turn limit"
                                    <input name="turn_limit" type="number" min="1" max="50" step="1" required
                                        value=s.turn_limit.to_string() aria-describedby="bot-turns-help" class=INPUT/>
                                    <span id="bot-turns-help" class="mt-0.5 block text-xs font-normal text-slate-600">
                                        "Replies before the bot hands off unasked."
                                    </span>
                                </label>
                            </div>
                            <label class="block text-sm font-medium text-slate-900">"Handoff keywords"
                                <input name="keywords" type="text" value=s.handoff_keywords.join(", ")
                                    aria-describedby="bot-keywords-help" class=INPUT/>
                                <span id="bot-keywords-help" class="mt-0.5 block text-xs font-normal text-slate-600">
                                    "Separated by commas; any of them sends the chat to a person at once."
                                </span>
                            </label>
                            <label class="block text-sm font-medium text-slate-900">"Instructions for the model"
                                <textarea name="instructions" rows="3" maxlength="4000" aria-describedby="bot-instructions-help"
                                    class=INPUT>{s.instructions.clone()}</textarea>
                                <span id="bot-instructions-help" class="mt-0.5 block text-xs font-normal text-slate-600">
                                    "Tone, scope, what it must never promise. Used when a language model is configured."
                                </span>
                            </label>
                            {move || error().map(|m| view! { <ErrorAlert title="Not saved" message=m/> })}
                            <div class="flex justify-end">
                                <super::support_types::SubmitButton pending=save.pending() label="Save bot settings" busy="Saving…"/>
                            </div>
                        </ActionForm>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}
