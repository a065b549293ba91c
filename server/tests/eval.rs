//! `fieldbook eval` end to end: the documented example gives the documented output, and bad
//! inputs give one exact error on stderr, exit code 1 and nothing on stdout.
//!
//! Refresh docs/examples/team.out.json after an intended change with
//! `UPDATE_EXPECT=1 cargo test -p fieldbook-server --test eval`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fieldbook_server::eval::run_eval;
use serde_json::{Value, json};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

fn fieldbook_eval(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldbook"))
        .arg("eval")
        .arg(file)
        .output()
        .expect("the fieldbook binary runs")
}

#[test]
fn example_team_gives_the_documented_output() {
    let dir = examples_dir();
    let out = fieldbook_eval(&dir.join("team.json"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fieldbook eval failed: {stderr}");
    assert_eq!(stderr, "");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let expected_path = dir.join("team.out.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &stdout).expect("write team.out.json");
        return;
    }
    let expected = std::fs::read_to_string(&expected_path).expect("read team.out.json");
    assert!(
        stdout == expected,
        "output differs from docs/examples/team.out.json; if the change is intended, rerun \
         with UPDATE_EXPECT=1 and review the diff"
    );
}

/// A small valid input: a manager, one rep, two leads (the second refused).
fn base() -> Value {
    json!({
        "now": "2025-06-09T07:30:00Z",
        "playbook": { "currency": "ILS" },
        "members": [
            { "id": "m-1", "name": "Dana", "role": "manager", "time_zone": "Asia/Jerusalem" },
            { "id": "r-1", "name": "Yossi", "role": "rep", "manager": "m-1",
              "time_zone": "Asia/Jerusalem" }
        ],
        "leads": [
            { "id": "L-1", "company": "Galil Dairy", "owner": "r-1",
              "created_at": "2025-06-09T07:00:00Z",
              "events": [
                  { "id": "E-1", "at": "2025-06-09T07:00:00Z", "by": "r-1", "type": "created" }
              ] },
            { "id": "L-2", "company": "Negev Logistics", "owner": "r-1",
              "created_at": "2025-06-01T07:00:00Z",
              "events": [
                  { "id": "E-1", "at": "2025-06-01T07:00:00Z", "by": "r-1", "type": "created" },
                  { "id": "E-2", "at": "2025-06-01T07:05:00Z", "by": "r-1", "type": "attempt",
                    "channel": "call", "outcome": "reached" },
                  { "id": "E-3", "at": "2025-06-01T07:05:00Z", "by": "r-1",
                    "type": "conversation", "kind": "call", "notes": "Too expensive.",
                    "ended": "final_no" },
                  { "id": "E-4", "at": "2025-06-01T07:05:00Z", "by": "r-1", "type": "refusal",
                    "reason": "price", "products": ["p-1"],
                    "budget": { "minor": 1500000, "currency": "ILS" } }
              ] }
        ]
    })
}

/// `base()` with the value at JSON pointer `pointer` replaced.
fn with(pointer: &str, value: Value) -> Value {
    let mut input = base();
    *input.pointer_mut(pointer).expect("pointer into base()") = value;
    input
}

/// Runs the binary on `input` and returns its error line, checking exit code 1 and that
/// nothing was printed on stdout.
fn eval_error(name: &str, input: &Value) -> String {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("eval-{name}.json"));
    std::fs::write(&file, serde_json::to_string_pretty(input).unwrap()).unwrap();
    let out = fieldbook_eval(&file);
    assert_eq!(out.status.code(), Some(1), "exit code for {name}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "",
        "stdout for {name}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let prefix = format!("error: {}: ", file.display());
    stderr
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("stderr {stderr:?} does not start with {prefix:?}"))
        .trim_end()
        .to_owned()
}

#[test]
fn the_base_input_is_valid() {
    run_eval(&base().to_string()).unwrap();
}

#[test]
fn wrong_type_deep_in_an_event_names_path_and_lead() {
    let input = with("/leads/1/events/2/at", json!("yesterday"));
    assert_eq!(
        eval_error("bad-time", &input),
        r#"leads[1].events[2].at: input contains invalid characters (lead "L-2")"#
    );
}

#[test]
fn unknown_owner_is_rejected() {
    let input = with("/leads/0/owner", json!("r-ghost"));
    assert_eq!(
        eval_error("unknown-owner", &input),
        r#"leads[0].owner: "r-ghost" is not a member (lead "L-1")"#
    );
}

#[test]
fn duplicate_lead_id_is_rejected() {
    let input = with("/leads/1/id", json!("L-1"));
    assert_eq!(
        eval_error("duplicate-lead", &input),
        r#"leads[1].id: duplicate lead id, first used by leads[0] (lead "L-1")"#
    );
}

#[test]
fn unknown_refusal_reason_is_rejected() {
    let input = with("/leads/1/events/3/reason", json!("too_expensive"));
    assert_eq!(
        eval_error("unknown-reason", &input),
        r#"leads[1].events[3].reason: "too_expensive" is not a refusal reason of the playbook, which has: price, budget, competitor, timing, no_need, product_fit, other, unreachable (lead "L-2", event "E-4")"#
    );
}

/// The error message of `run_eval` for `input`.
fn message(input: &Value) -> String {
    run_eval(&input.to_string()).unwrap_err().to_string()
}

#[test]
fn other_bad_inputs_name_what_is_wrong() {
    let cases = [
        (
            with("/leads/1/events/1/id", json!("E-1")),
            r#"leads[1].events[1].id: duplicate event id, first used by leads[1].events[0] (lead "L-2", event "E-1")"#,
        ),
        (
            with("/leads/1/events/1/by", json!("m-9")),
            r#"leads[1].events[1].by: "m-9" is not a member (lead "L-2", event "E-2")"#,
        ),
        (
            with("/members/1/manager", json!("m-9")),
            r#"members[1].manager: "m-9" is not a member"#,
        ),
        (
            with("/leads/1/events/1/outcome", json!("hung_up")),
            r#"leads[1].events[1]: unknown variant `hung_up`, expected one of `no_answer`, `busy`, `wrong_number`, `voicemail`, `reached` (lead "L-2")"#,
        ),
        (
            with("/leads/0/created_at", json!(20250609)),
            r#"leads[0].created_at: invalid type: integer `20250609`, expected an RFC 3339 formatted date and time string (lead "L-1")"#,
        ),
        (
            with("/members/0/time_zone", json!("Mars/Olympus")),
            r#"members[0].time_zone: failed to parse timezone: 'Mars/Olympus'"#,
        ),
        (
            with("/now", json!("2025-06-09")),
            r#"now: premature end of input"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(message(&input), expected);
    }

    let mut input = base();
    input["rep"] = json!("r-2");
    assert_eq!(message(&input), r#"rep: "r-2" is not a member"#);

    let mut input = base();
    input["playbook"] = json!({ "tiers": { "a_percent": 60, "b_percent": 50 } });
    assert_eq!(
        message(&input),
        "playbook.tiers: a_percent + b_percent is 110, more than 100"
    );

    let mut input = base();
    input["lead"] = json!([]);
    assert_eq!(
        message(&input),
        "lead: unknown field `lead`, expected one of `now`, `members`, `products`, `playbook`, \
         `team`, `leads`, `rep`"
    );

    let mut input = base();
    input.as_object_mut().unwrap().remove("members");
    assert_eq!(message(&input), "(top level): missing field `members`");

    let mut input = base();
    input["leads"][1]["events"].as_array_mut().unwrap().push(
        json!({ "id": "E-5", "at": "2025-06-02T07:00:00Z", "by": "m-1",
                      "type": "status_override", "status": "frozen", "reason": "x" }),
    );
    assert!(message(&input).starts_with(
        r#"leads[1].events[4].status: "frozen" is not a status of the playbook, which has: new,"#
    ));

    assert_eq!(
        run_eval("{\"now\": ").unwrap_err().to_string(),
        "invalid JSON: EOF while parsing a value at line 1 column 8"
    );
}

/// `base()` with a win by the rep and a validation by the manager recorded after the same
/// refusal on two devices, and `more` events after them.
fn concurrent(more: &[Value]) -> Value {
    let mut input = base();
    let events = input["leads"][1]["events"].as_array_mut().unwrap();
    events.push(
        json!({ "id": "E-5", "at": "2025-06-02T07:00:00Z", "by": "r-1", "after": "E-4",
                        "type": "won", "amount": { "minor": 100, "currency": "ILS" } }),
    );
    events.push(
        json!({ "id": "E-6", "at": "2025-06-02T08:00:00Z", "by": "m-1", "after": "E-4",
                        "type": "review_decision", "decision": "refusal_validated" }),
    );
    events.extend(more.iter().cloned());
    input
}

#[test]
fn concurrent_decisions_show_as_a_conflict_until_resolved() {
    let out: Value =
        serde_json::from_str(&run_eval(&concurrent(&[]).to_string()).unwrap()).unwrap();
    let lead = &out["leads"][1];
    assert_eq!(lead["flags"], json!(["conflict"]));
    assert_eq!(lead["tasks"][0]["kind"], "resolve_conflict");
    assert_eq!(lead["tasks"][0]["conflict"], "outcome:E-5+E-6");
    assert_eq!(lead["tasks"][0]["assignee"], "m-1");
    let item = &out["review_inbox"][0]["items"][0];
    assert_eq!(item["kind"], "conflict");
    assert_eq!(item["key"], "outcome:E-5+E-6");
    assert_eq!(item["topic"], "outcome");
    assert_eq!(item["since"], "2025-06-02T08:00:00Z");
    assert_eq!(
        item["events"],
        json!([
            { "event": "E-5", "by": "r-1", "at": "2025-06-02T07:00:00Z",
              "type": "won", "amount": { "minor": 100, "currency": "ILS" } },
            { "event": "E-6", "by": "m-1", "at": "2025-06-02T08:00:00Z",
              "type": "review_decision", "decision": "refusal_validated" }
        ])
    );

    let resolved = concurrent(&[json!({
        "id": "E-7", "at": "2025-06-03T07:00:00Z", "by": "m-1", "type": "conflict_resolved",
        "conflict": "outcome:E-5+E-6", "keep": "E-6", "note": "the customer confirmed the no"
    })]);
    let out: Value = serde_json::from_str(&run_eval(&resolved.to_string()).unwrap()).unwrap();
    assert_eq!(out["leads"][1]["status"], "not_interested");
    assert_eq!(out["leads"][1]["flags"], json!([]));
    assert_eq!(out["review_inbox"][0]["items"], json!([]));
}

#[test]
fn after_and_keep_must_name_events_of_the_lead() {
    let input = concurrent(&[json!({
        "id": "E-7", "at": "2025-06-03T07:00:00Z", "by": "m-1", "type": "conflict_resolved",
        "conflict": "outcome:E-5+E-6", "keep": "E-9"
    })]);
    assert_eq!(
        message(&input),
        r#"leads[1].events[6].keep: "E-9" is not an event of this lead (lead "L-2", event "E-7")"#
    );
    let mut input = concurrent(&[]);
    input["leads"][1]["events"][4]["after"] = json!("E-1 ");
    assert_eq!(
        message(&input),
        r#"leads[1].events[4].after: "E-1 " is not an event of this lead (lead "L-2", event "E-5")"#
    );
}

#[test]
fn histories_the_commands_would_refuse_are_warned_about_not_rejected() {
    let mut input = base();
    // The conversation has no notes, and the refusal no budget though `price` requires one.
    input["leads"][1]["events"][2]["notes"] = json!("");
    input["leads"][1]["events"][3]
        .as_object_mut()
        .unwrap()
        .remove("budget");
    let out: Value = serde_json::from_str(&run_eval(&input.to_string()).unwrap()).unwrap();
    assert_eq!(
        out["warnings"],
        json!([
            { "path": "leads[1].events[2].notes", "lead": "L-2", "event": "E-3", "rule": "R3",
              "message": "document what was said and the customer's needs; a conversation without notes is not saved" },
            { "path": "leads[1].events[3].budget", "lead": "L-2", "event": "E-4", "rule": "R7",
              "message": "a refusal records the customer's budget (R7)" }
        ])
    );
    // The derived state is as for any other history: refused, awaiting review.
    assert_eq!(out["leads"][1]["status"], "not_interested");
    assert_eq!(out["leads"][1]["flags"], json!(["awaiting_review"]));
    assert_eq!(
        serde_json::from_str::<Value>(&run_eval(&base().to_string()).unwrap()).unwrap()["warnings"],
        json!([])
    );
}

#[test]
fn an_amount_without_an_exchange_rate_is_flagged_and_listed() {
    let mut input = base();
    input["leads"][1]["events"][3]["budget"] = json!({ "minor": 900000, "currency": "RON" });
    let out: Value = serde_json::from_str(&run_eval(&input.to_string()).unwrap()).unwrap();
    assert_eq!(
        out["missing_rates"],
        json!([{ "currency": "RON", "needed_from": "2025-06-01", "n_leads": 1,
                 "examples": ["L-2"] }])
    );
    assert_eq!(
        out["leads"][1]["flags"],
        json!(["awaiting_review", "no_exchange_rate"])
    );
    let total = &out["refusals"][0]["cumulative"]["budget_total"];
    assert_eq!(total["currency"], "ILS");
    assert_eq!(total["minor"], 0);
    assert_eq!(total["missing_rates"], json!(["RON"]));

    // With a rate dated on or before the refusal, it converts and nothing is missing.
    input["playbook"]["exchange_rates"] =
        json!([{ "currency": "RON", "date": "2025-05-01", "rate": "0.78" }]);
    let out: Value = serde_json::from_str(&run_eval(&input.to_string()).unwrap()).unwrap();
    assert_eq!(out["missing_rates"], json!([]));
    assert_eq!(out["leads"][1]["flags"], json!(["awaiting_review"]));
    assert_eq!(
        out["refusals"][0]["cumulative"]["budget_total"]["minor"],
        702000
    );
}
