//! Widgets shared by several pages.

pub mod alert;
pub mod attachments;
pub mod bell;
#[cfg(feature = "ssr")]
pub mod charts;
pub mod dialog;
pub mod secret;
pub mod shell;
pub mod table;
pub mod theme;
pub mod toast;
pub mod upload;
