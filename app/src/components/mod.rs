//! Widgets shared by several pages.

pub mod alert;
pub mod shell;
