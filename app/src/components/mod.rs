//! Widgets shared by several pages.

pub mod alert;
