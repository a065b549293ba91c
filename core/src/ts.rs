//! TypeScript declarations of the data the browser binding (`fieldbook-wasm`) passes, generated
//! from the serde types by ts-rs so that they cannot drift from the JSON the core writes.
//! Only with the `ts` feature; `wasm/tests/ts_types.rs` checks the committed
//! `wasm/src/types.d.ts` against [`declarations`] (`UPDATE_EXPECT=1` rewrites it).

use std::any::TypeId;
use std::collections::BTreeMap;
use ts_rs::{Config, TS, TypeVisitor};

/// Every exported type reachable from the binding's inputs and outputs, as `export type`
/// declarations sorted by name, each with its Rust doc comment.
pub fn declarations() -> String {
    // serde-wasm-bindgen hands 64-bit integers to JS as numbers (they are all far below 2^53).
    let cfg = Config::new().with_large_int("number");
    let mut collect = Collect {
        cfg: &cfg,
        seen: Vec::new(),
        decls: BTreeMap::new(),
    };
    collect.visit::<crate::commands::NewLead>();
    collect.visit::<crate::commands::LeadEdit>();
    collect.visit::<crate::replica::LeadCommand>();
    collect.visit::<crate::replica::TeamCommand>();
    collect.visit::<crate::replica::LeadView>();
    collect.visit::<crate::lead::Lead>();
    collect.visit::<crate::facts::LeadFacts>();
    collect.visit::<crate::state::LeadState>();
    collect.visit::<crate::team::Team>();
    collect.visit::<crate::queue::CallQueue>();
    collect.visit::<crate::review::InboxItem>();
    collect.visit::<crate::dayplan::DayPlan>();
    collect.visit::<crate::analytics::refusals::RefusalReports>();
    collect.visit::<crate::analytics::funnel::Funnel>();
    collect.visit::<crate::analytics::funnel::SpeedToLead>();
    collect.visit::<crate::tiers::TierReport>();
    collect.visit::<crate::tiers::TierCube>();
    collect.visit::<crate::analytics::currencies::MissingRate>();
    collect.visit::<crate::commands::CommandError>();
    collect.visit::<crate::write::LeadActions>();
    collect.visit::<crate::replica::RefusedChange>();
    let mut out = String::from(
        "// Generated from fieldbook-core's serde types by ts-rs (core/src/ts.rs). Do not edit:\n\
         // `UPDATE_EXPECT=1 cargo test -p fieldbook-wasm --test ts_types` rewrites it.\n",
    );
    for decl in collect.decls.values() {
        out.push('\n');
        out.push_str("export ");
        out.push_str(&tidy(decl));
        out.push('\n');
    }
    out
}

/// ts-rs writes a type's closing `}` at the end of its last field's line (`a: T, };`); the
/// `.d.ts` indenters (wasm-bindgen's among them) then indent everything after it. Each `}`
/// that closes a brace of an earlier line is moved to the start of its own line, and
/// trailing spaces are dropped.
fn tidy(decl: &str) -> String {
    let mut out = String::with_capacity(decl.len() + 64);
    for line in decl.lines() {
        let mut opened_here = 0usize;
        let mut current = String::new();
        for c in line.chars() {
            match c {
                '{' => opened_here += 1,
                '}' if opened_here > 0 => opened_here -= 1,
                '}' if !current.trim().is_empty() => {
                    out.push_str(current.trim_end());
                    out.push('\n');
                    current.clear();
                }
                _ => {}
            }
            current.push(c);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

struct Collect<'a> {
    cfg: &'a Config,
    seen: Vec<TypeId>,
    decls: BTreeMap<String, String>,
}

impl TypeVisitor for Collect<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        let id = TypeId::of::<T>();
        // Only named (derived) types are declared; primitives and containers are inlined.
        if self.seen.contains(&id) || T::output_path().is_none() {
            return;
        }
        self.seen.push(id);
        let (name, decl) = (T::ident(self.cfg), T::decl(self.cfg));
        // Two Rust types with one name would silently lose one declaration: rename one
        // (`#[cfg_attr(feature = "ts", ts(rename = "..."))]`).
        if let Some(other) = self.decls.get(&name) {
            assert_eq!(
                other, &decl,
                "two different types are declared as `{name}` in TypeScript"
            );
        }
        self.decls.insert(name, decl);
        T::visit_dependencies(self);
    }
}
