//! Widgets shared by several pages.

pub mod alert;
pub mod attachments;
pub mod dialog;
pub mod shell;
pub mod toast;
