//! Server-rendered SVG charts: grouped bars, lines and horizontal bars.
//!
//! Why our own: no maintained crate renders accessible SVG on the server for
//! Leptos 0.8 (`leptos-chartistry` renders nothing server-side, `charming`
//! needs a JS engine, `plotters` has no ARIA). These components are plain
//! `view!` markup, so Leptos escapes every label, and they are compiled for
//! the server only: the reports page receives them as HTML, and charts add
//! nothing to the WASM bundle.
//!
//! Each chart is a `<figure>`: the takeaway above it as the caption, an
//! `<svg>` (`role="img"`, or `"group"` when its marks are links) with `<title>` and `<desc>`, the definition under it,
//! and a `<details>` table of the same rows. Every bar can link to the
//! sessions behind it (drill-down). Colours are Tailwind classes (the CSP
//! bars inline styles).

use leptos::prelude::*;

/// Drawing area, in SVG user units (the SVG scales to its container).
const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// The fill and stroke classes of the n-th series.
pub const PALETTE: [(&str, &str, &str); 4] = [
    ("fill-indigo-500", "stroke-indigo-500", "bg-indigo-500"),
    ("fill-emerald-500", "stroke-emerald-500", "bg-emerald-500"),
    ("fill-rose-500", "stroke-rose-500", "bg-rose-500"),
    ("fill-amber-500", "stroke-amber-500", "bg-amber-500"),
];

/// One series of a chart: a value (or a gap) per label, and where each
/// value's sessions are listed.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub links: Vec<Option<String>>,
}

/// A round axis maximum at or above `max`, and its step for 4 gridlines.
fn nice_max(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (4.0, 1.0);
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    (step * 4.0, step)
}

/// Every k-th label, so that at most ~12 are drawn.
fn label_every(n: usize) -> usize {
    n.div_ceil(12).max(1)
}

#[component]
fn Frame(
    id: String,
    title: String,
    takeaway: String,
    desc: String,
    definition: String,
    /// Column headers of the details table: the label's, then each series'.
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    legend: Vec<String>,
    /// Whether marks link to their sessions.
    interactive: bool,
    children: Children,
) -> impl IntoView {
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelledby = format!("{title_id} {desc_id}");
    let role = svg_role(interactive);
    view! {
        <figure class="rounded-xl border border-slate-200 bg-white p-4" data-chart=id.clone()>
            <h3 class="text-sm font-semibold text-slate-900">{title.clone()}</h3>
            <figcaption class="mt-1 text-sm text-slate-700" data-takeaway="">{takeaway}</figcaption>
            {(legend.len() > 1).then(|| view! {
                <ul class="mt-2 flex flex-wrap gap-3 text-xs text-slate-600" aria-hidden="true">
                    {legend.into_iter().enumerate().map(|(i, name)| view! {
                        <li class="flex items-center gap-1">
                            <span class=format!("inline-block h-2 w-2 rounded-sm {}", PALETTE[i % PALETTE.len()].2)></span>
                            {name}
                        </li>
                    }).collect_view()}
                </ul>
            })}
            <svg viewBox=format!("0 0 {W} {H}") class="mt-2 h-auto w-full" role=role
                aria-labelledby=labelledby>
                <title id=title_id>{title}</title>
                <desc id=desc_id>{desc}</desc>
                {children()}
            </svg>
            <p class="mt-2 text-xs text-slate-500">{definition}</p>
            <details class="mt-2 text-sm">
                <summary class="cursor-pointer rounded text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Show the numbers"
                </summary>
                <div class="mt-2 overflow-x-auto">
                    <table class="min-w-full text-xs">
                        <thead class="text-left text-slate-500">
                            <tr>{headers.into_iter().map(|h| view! { <th scope="col" class="px-2 py-1 font-medium">{h}</th> }).collect_view()}</tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {rows.into_iter().map(|r| view! {
                                <tr>{r.into_iter().map(|c| view! { <td class="px-2 py-1 tabular-nums">{c}</td> }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

/// A chart is an image, unless its marks are links: then it is a labelled
/// group, so that the links stay reachable (an image has no interactive
/// children).
fn svg_role(interactive: bool) -> &'static str {
    if interactive { "group" } else { "img" }
}

fn has_links(series: &[Series]) -> bool {
    series.iter().any(|s| s.links.iter().any(Option::is_some))
}

/// The y axis: gridlines and their labels.
fn y_axis(max: f64, step: f64, fmt: fn(f64) -> String) -> impl IntoView {
    let plot_h = H - TOP - BOTTOM;
    (0..=4)
        .map(|i| {
            let v = step * f64::from(i);
            let y = TOP + plot_h - v / max * plot_h;
            view! {
                <line x1=LEFT x2=W - RIGHT y1=y y2=y class="stroke-slate-200" stroke-width="1"/>
                <text x=LEFT - 6.0 y=y + 3.0 text-anchor="end" class="fill-slate-500 text-[10px]">{fmt(v)}</text>
            }
        })
        .collect_view()
}

fn x_labels(labels: &[String], x_of: impl Fn(usize) -> f64) -> Vec<AnyView> {
    let every = label_every(labels.len());
    labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, l)| {
            view! {
                <text x=x_of(i) y=H - BOTTOM + 14.0 text-anchor="middle" class="fill-slate-500 text-[10px]">
                    {l.clone()}
                </text>
            }
            .into_any()
        })
        .collect()
}

fn table(labels: &[String], series: &[Series], fmt: fn(f64) -> String) -> Vec<Vec<String>> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            std::iter::once(l.clone())
                .chain(
                    series
                        .iter()
                        .map(|s| s.values.get(i).copied().flatten().map(fmt).unwrap_or_else(|| "–".into())),
                )
                .collect()
        })
        .collect()
}

/// What the series charts share: the y scale and the details table.
struct Scale {
    max: f64,
    step: f64,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    legend: Vec<String>,
}

fn scale(labels: &[String], series: &[Series], fmt: fn(f64) -> String) -> Scale {
    let top = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, b| a.max(*b));
    let (max, step) = nice_max(top);
    Scale {
        max,
        step,
        headers: std::iter::once("Period".to_owned()).chain(series.iter().map(|s| s.name.clone())).collect(),
        rows: table(labels, series, fmt),
        legend: series.iter().map(|s| s.name.clone()).collect(),
    }
}

/// Bars per label, one per series, side by side; each bar links to the
/// sessions it counts.
#[component]
pub fn BarChart(
    id: String,
    title: String,
    takeaway: String,
    desc: String,
    definition: String,
    labels: Vec<String>,
    series: Vec<Series>,
    fmt: fn(f64) -> String,
) -> impl IntoView {
    let Scale { max, step, headers, rows, legend } = scale(&labels, &series, fmt);
    let interactive = has_links(&series);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1);
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.8 / series.len().max(1) as f64).max(1.0);
    let bars = series
        .iter()
        .enumerate()
        .flat_map(|(si, s)| {
            let fill = PALETTE[si % PALETTE.len()].0;
            s.values.iter().enumerate().filter_map(move |(i, v)| {
                let v = (*v)?;
                let h = (v / max * plot_h).max(if v > 0.0 { 1.0 } else { 0.0 });
                let x = LEFT + slot * i as f64 + slot * 0.1 + bar_w * si as f64;
                let y = TOP + plot_h - h;
                let label = format!("{}: {}", s.name, fmt(v));
                let rect = view! {
                    <rect x=x y=y width=bar_w height=h class=format!("{fill} hover:opacity-80")>
                        <title>{label.clone()}</title>
                    </rect>
                };
                Some(match s.links.get(i).cloned().flatten() {
                    Some(href) => view! { <a href=href aria-label=label>{rect}</a> }.into_any(),
                    None => rect.into_any(),
                })
            })
        })
        .collect_view();
    let axis = y_axis(max, step, fmt);
    let xl = x_labels(&labels, |i| LEFT + slot * (i as f64 + 0.5));
    view! {
        <Frame id title takeaway desc definition headers rows legend interactive>
            {axis}
            {bars}
            {xl}
        </Frame>
    }
}

/// Lines over the labels, one per series; gaps where a value is missing.
#[component]
pub fn LineChart(
    id: String,
    title: String,
    takeaway: String,
    desc: String,
    definition: String,
    labels: Vec<String>,
    series: Vec<Series>,
    fmt: fn(f64) -> String,
) -> impl IntoView {
    let Scale { max, step, headers, rows, legend } = scale(&labels, &series, fmt);
    let interactive = has_links(&series);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let n = labels.len().max(1);
    let x_of =
        move |i: usize| if n == 1 { LEFT + plot_w / 2.0 } else { LEFT + plot_w * i as f64 / (n - 1) as f64 };
    let y_of = move |v: f64| TOP + plot_h - v / max * plot_h;
    let lines = series
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let (fill, stroke, _) = PALETTE[si % PALETTE.len()];
            // One path with a move at every gap.
            let mut d = String::new();
            let mut pen_down = false;
            for (i, v) in s.values.iter().enumerate() {
                match v {
                    Some(v) => {
                        d.push_str(&format!(
                            "{}{:.1},{:.1} ",
                            if pen_down { "L" } else { "M" },
                            x_of(i),
                            y_of(*v)
                        ));
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let points = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let v = (*v)?;
                    let label =
                        format!("{} {}: {}", labels.get(i).cloned().unwrap_or_default(), s.name, fmt(v));
                    let dot = view! {
                        <circle cx=x_of(i) cy=y_of(v) r="3" class=fill><title>{label.clone()}</title></circle>
                    };
                    Some(match s.links.get(i).cloned().flatten() {
                        Some(href) => view! { <a href=href aria-label=label>{dot}</a> }.into_any(),
                        None => dot.into_any(),
                    })
                })
                .collect_view();
            view! {
                <path d=d class=stroke fill="none" stroke-width="2"/>
                {points}
            }
        })
        .collect_view();
    let axis = y_axis(max, step, fmt);
    let xl = x_labels(&labels, x_of);
    view! {
        <Frame id title takeaway desc definition headers rows legend interactive>
            {axis}
            {lines}
            {xl}
        </Frame>
    }
}

/// One horizontal bar per category (reasons, scores, bins), each linking
/// to its sessions where it can.
#[component]
pub fn HBarChart(
    id: String,
    title: String,
    takeaway: String,
    desc: String,
    definition: String,
    /// (label, value, drill-down link).
    bars: Vec<(String, f64, Option<String>)>,
    fmt: fn(f64) -> String,
) -> impl IntoView {
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1.0);
    let label_w = 170.0;
    let row_h = 22.0;
    let height = (bars.len().max(1) as f64) * row_h + 8.0;
    let headers = vec!["Category".to_owned(), "Value".to_owned()];
    let rows: Vec<Vec<String>> = bars.iter().map(|(l, v, _)| vec![l.clone(), fmt(*v)]).collect();
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelledby = format!("{title_id} {desc_id}");
    let role = svg_role(bars.iter().any(|b| b.2.is_some()));
    let body = bars
        .into_iter()
        .enumerate()
        .map(|(i, (label, v, link))| {
            let y = 4.0 + row_h * i as f64;
            let w = (v / max * (W - label_w - 60.0)).max(if v > 0.0 { 1.0 } else { 0.0 });
            let text = format!("{label}: {}", fmt(v));
            let shown: String = if label.chars().count() > 28 {
                label.chars().take(27).chain(['…']).collect()
            } else {
                label.clone()
            };
            let bar = view! {
                <rect x=label_w y=y + 3.0 width=w height=row_h - 8.0 class="fill-indigo-500 hover:opacity-80">
                    <title>{text.clone()}</title>
                </rect>
            };
            let bar = match link {
                Some(href) => view! { <a href=href aria-label=text>{bar}</a> }.into_any(),
                None => bar.into_any(),
            };
            view! {
                <text x=label_w - 8.0 y=y + row_h / 2.0 + 3.0 text-anchor="end" class="fill-slate-700 text-[11px]">{shown}</text>
                {bar}
                <text x=label_w + w + 6.0 y=y + row_h / 2.0 + 3.0 class="fill-slate-600 text-[11px]">{fmt(v)}</text>
            }
        })
        .collect_view();
    view! {
        <figure class="rounded-xl border border-slate-200 bg-white p-4" data-chart=id.clone()>
            <h3 class="text-sm font-semibold text-slate-900">{title.clone()}</h3>
            <figcaption class="mt-1 text-sm text-slate-700" data-takeaway="">{takeaway}</figcaption>
            <svg viewBox=format!("0 0 {W} {height}") class="mt-2 h-auto w-full" role=role
                aria-labelledby=labelledby>
                <title id=title_id>{title}</title>
                <desc id=desc_id>{desc}</desc>
                {body}
            </svg>
            <p class="mt-2 text-xs text-slate-500">{definition}</p>
            <details class="mt-2 text-sm">
                <summary class="cursor-pointer rounded text-indigo-700 hover:underline focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Show the numbers"
                </summary>
                <table class="mt-2 min-w-full text-xs">
                    <thead class="text-left text-slate-500">
                        <tr>{headers.into_iter().map(|h| view! { <th scope="col" class="px-2 py-1 font-medium">{h}</th> }).collect_view()}</tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {rows.into_iter().map(|r: Vec<String>| view! {
                            <tr>{r.into_iter().map(|c| view! { <td class="px-2 py-1 tabular-nums">{c}</td> }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_to_four_even_steps() {
        assert_eq!(nice_max(0.0), (4.0, 1.0));
        assert_eq!(nice_max(7.0), (8.0, 2.0));
        assert_eq!(nice_max(93.0), (100.0, 25.0));
        assert_eq!(nice_max(1234.0), (2000.0, 500.0));
        assert_eq!(label_every(7), 1);
        assert_eq!(label_every(90), 8);
    }
}
