//! RuntimeClasses: kubectl's HANDLER column.

use super::{Strategy, named};
use crate::columns::column;
use crate::printers::text;

pub static STRATEGY: Strategy = Strategy {
    columns: || {
        named(vec![column("Handler", "string", 0, |v, _| {
            text(&v["handler"])
        })])
    },
    ..Strategy::DEFAULT
};
