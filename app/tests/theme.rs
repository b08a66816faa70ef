//! Dark mode is one palette swap in `style/tailwind.css`, so the pages carry
//! no `dark:` classes (the swap would turn them around a second time), and
//! every palette a page uses must be one the swap knows, or that page would
//! keep its light colours on a dark background.

use std::{collections::BTreeSet, fs, path::Path};

/// Tailwind's chromatic palettes (the neutrals other than slate included).
const PALETTES: &[&str] = &[
    "slate", "gray", "zinc", "neutral", "stone", "red", "orange", "amber", "yellow", "lime", "green",
    "emerald", "teal", "cyan", "sky", "blue", "indigo", "violet", "purple", "fuchsia", "pink", "rose",
];

fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("read app/src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), fs::read_to_string(&path).expect("read source")));
        }
    }
}

/// The palettes named by the colour utilities in `text` (`bg-rose-50`,
/// `hover:text-indigo-700`, `fill-slate-500/40`, ...).
fn palettes_used(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .map(|token| token.rsplit(':').next().unwrap_or(token))
        .filter_map(|utility| {
            let mut parts = utility.split('-');
            let (_kind, palette, shade) = (parts.next()?, parts.next()?, parts.next()?);
            let shade = shade.split('/').next()?;
            (PALETTES.contains(&palette) && !shade.is_empty() && shade.bytes().all(|b| b.is_ascii_digit()))
                .then_some(palette)
        })
        .map(|p| *PALETTES.iter().find(|q| **q == p).expect("listed"))
        .collect()
}

#[test]
fn pages_leave_dark_mode_to_the_one_palette_swap() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let css = fs::read_to_string(root.join("../style/tailwind.css")).expect("read style/tailwind.css");
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 20, "found the app's sources");

    let with_dark_classes: Vec<&str> = files
        .iter()
        .filter(|(_, text)| text.contains(" dark:") || text.contains("\"dark:"))
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(
        with_dark_classes,
        Vec::<&str>::new(),
        "`dark:` classes; the palette swap in tailwind.css does this"
    );

    let mut used = BTreeSet::new();
    for (_, text) in &files {
        used.extend(palettes_used(text));
    }
    assert!(used.contains("slate") && used.contains("indigo"), "the scan sees the pages' colours: {used:?}");
    let missing: Vec<&&str> = used.iter().filter(|p| !css.contains(&format!("--color-{p}-50:"))).collect();
    assert!(missing.is_empty(), "palettes without dark values in style/tailwind.css: {missing:?}");
}

#[test]
fn the_scan_reads_variants_and_opacity() {
    let used = palettes_used(
        r#"class="hover:bg-rose-50 text-white fill-emerald-500/40 focus-visible:ring-indigo-500 w-1/2 text-sm""#,
    );
    assert_eq!(used.into_iter().collect::<Vec<_>>(), ["emerald", "indigo", "rose"]);
}
