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
fn wrong_type_deep_in_an_event_names_path_lead_and_event() {
    let input = with("/leads/1/events/2/at", json!("yesterday"));
    assert_eq!(
        eval_error("bad-time", &input),
        format!(
            r#"leads[1].events[2].at: "yesterday" is not a time: {TIME} (lead "L-2", event "E-3")"#
        )
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
            with("/members/0/time_zone", json!("Mars/Olympus")),
            r#"members[0].time_zone: failed to parse timezone: 'Mars/Olympus'"#,
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

/// What every time error says is expected.
const TIME: &str = "expected an RFC 3339 time with a zone, e.g. 2025-06-09T10:30:00+03:00";

/// `base()` changed by `edit`.
fn edited(edit: impl FnOnce(&mut Value)) -> Value {
    let mut input = base();
    edit(&mut input);
    input
}

#[test]
fn a_typo_inside_a_lead_is_rejected_with_a_suggestion() {
    // Ignored, the customer who asked not to be called would stay in the queue.
    let input = edited(|i| i["leads"][0]["do_not_contatc"] = json!(true));
    assert_eq!(
        eval_error("typo-do-not-contact", &input),
        r#"leads[0].do_not_contatc: unknown field, did you mean `do_not_contact`? (lead "L-1")"#
    );
    // Ignored, the lead would lose its place among the larger deals of the queue.
    let input = edited(|i| i["leads"][1]["deal"] = json!({ "minor": 9000000, "currency": "ILS" }));
    assert_eq!(
        message(&input),
        r#"leads[1].deal: unknown field, did you mean `deal_size`? (lead "L-2")"#
    );
}

#[test]
fn typos_are_rejected_at_every_level() {
    let cases = [
        (
            edited(|i| i["lead"] = json!([])),
            "lead: unknown field, did you mean `leads`?",
        ),
        (
            edited(|i| i["members"][1]["time_zon"] = json!("Asia/Jerusalem")),
            "members[1].time_zon: unknown field, did you mean `time_zone`?",
        ),
        (
            edited(|i| {
                i["members"][1]["working_week"] =
                    json!({ "days": ["Sun"], "start": "09:00", "ends": "18:00" })
            }),
            "members[1].working_week.ends: unknown field, did you mean `end`?",
        ),
        (
            edited(|i| i["leads"][1]["events"][1]["outcom"] = json!("reached")),
            r#"leads[1].events[1].outcom: unknown field, did you mean `outcome`? (lead "L-2", event "E-2")"#,
        ),
        (
            edited(|i| i["leads"][1]["events"][3]["budget"]["curency"] = json!("ILS")),
            r#"leads[1].events[3].budget.curency: unknown field, did you mean `currency`? (lead "L-2", event "E-4")"#,
        ),
        (
            edited(|i| i["playbook"]["follow_ups"] = json!({ "needs_time_dayz": 3 })),
            "playbook.follow_ups.needs_time_dayz: unknown field, did you mean `needs_time_days`?",
        ),
        (
            edited(|i| {
                i["playbook"]["cadence"] =
                    json!({ "email_templates": [{ "attempt": 1, "subject": "Hi", "bdy": "" }] })
            }),
            "playbook.cadence.email_templates[0].bdy: unknown field, did you mean `body`?",
        ),
        (
            edited(|i| i["team"] = json!({ "id": "t-1", "nmae": "North" })),
            "team.nmae: unknown field, did you mean `name`?",
        ),
        (
            edited(|i| {
                i["leads"][0]["account"] = json!({ "plan": { "next_reveiw": "2025-09-01" } })
            }),
            r#"leads[0].account.plan.next_reveiw: unknown field, did you mean `next_review`? (lead "L-1")"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(message(&input), expected);
    }
}

#[test]
fn an_unknown_key_with_no_close_match_lists_the_known_keys() {
    let input = edited(|i| i["leads"][1]["events"][1]["colour"] = json!("red"));
    assert_eq!(
        message(&input),
        r#"leads[1].events[1].colour: unknown field, expected one of `after`, `at`, `by`, `channel`, `id`, `outcome`, `type` (lead "L-2", event "E-2")"#
    );
    let input = edited(|i| i["products"] = json!([{ "id": "p-1", "name": "Solar", "price": 5 }]));
    assert_eq!(
        message(&input),
        "products[0].price: unknown field, expected one of `id`, `name`"
    );
}

#[test]
fn custom_fields_take_any_key() {
    let input = edited(|i| {
        i["leads"][0]["custom"] = json!({ "vat_id": "IL-5", "deal": "big", "do_not_contatc": "x" })
    });
    let out: Value = serde_json::from_str(&run_eval(&input.to_string()).unwrap()).unwrap();
    assert_eq!(out["leads"].as_array().unwrap().len(), 2);
}

#[test]
fn time_errors_say_what_is_expected() {
    let at = |value: Value| with("/leads/1/events/2/at", value);
    let zone = "add the zone, e.g. Z for UTC or +03:00";
    let cases = [
        (
            at(json!("2025-06-05 11:00")),
            format!(
                r#"leads[1].events[2].at: "2025-06-05 11:00" is not a time: {TIME}; write T between the date and the time; add the seconds: 11:00:00; {zone} (lead "L-2", event "E-3")"#
            ),
        ),
        (
            at(json!("2025-06-05T11:00:00")),
            format!(
                r#"leads[1].events[2].at: "2025-06-05T11:00:00" is not a time: {TIME}; {zone} (lead "L-2", event "E-3")"#
            ),
        ),
        (
            at(json!("08/06/2025 17:00")),
            format!(
                r#"leads[1].events[2].at: "08/06/2025 17:00" is not a time: {TIME}; write the date year first: 2025-06-08; write T between the date and the time; add the seconds: 17:00:00; {zone} (lead "L-2", event "E-3")"#
            ),
        ),
        (
            with("/now", json!("2025-06-09")),
            format!(
                r#"now: "2025-06-09" is not a time: {TIME}; a date alone is not a time: add the time and the zone, e.g. 2025-06-09T09:00:00+03:00"#
            ),
        ),
        (
            with("/leads/0/created_at", json!(20250609)),
            format!(r#"leads[0].created_at: 20250609 is not a time: {TIME} (lead "L-1")"#),
        ),
        (
            with("/now", json!(null)),
            format!("now: null is not a time: {TIME}"),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(message(&input), expected);
    }
    assert_eq!(
        eval_error("time-without-zone", &at(json!("2025-06-05T11:00:00"))),
        format!(
            r#"leads[1].events[2].at: "2025-06-05T11:00:00" is not a time: {TIME}; {zone} (lead "L-2", event "E-3")"#
        )
    );
}

#[test]
fn time_errors_inside_an_event_kind_name_the_field() {
    let input = edited(|i| {
        i["leads"][0]["events"].as_array_mut().unwrap().push(json!({
            "id": "E-2", "at": "2025-06-09T07:10:00Z", "by": "r-1", "type": "next_step",
            "kind": "call", "due": "2025-06-10T10:00:00"
        }))
    });
    assert_eq!(
        message(&input),
        format!(
            r#"leads[0].events[1].due: "2025-06-10T10:00:00" is not a time: {TIME}; add the zone, e.g. Z for UTC or +03:00 (lead "L-1", event "E-2")"#
        )
    );
}

#[test]
fn date_errors_say_what_is_expected() {
    let expected = "expected a date as YYYY-MM-DD, e.g. 2025-06-09";
    let input = edited(|i| {
        i["playbook"]["exchange_rates"] =
            json!([{ "currency": "RON", "date": "01/06/2025", "rate": "0.77" }])
    });
    assert_eq!(
        message(&input),
        format!(
            r#"playbook.exchange_rates[0].date: "01/06/2025" is not a date: {expected}; write the date year first: 2025-06-01"#
        )
    );
    let input = edited(|i| {
        i["leads"][0]["account"] = json!({ "plan": { "next_review": "2025-09-01T00:00:00Z" } })
    });
    assert_eq!(
        message(&input),
        format!(
            r#"leads[0].account.plan.next_review: "2025-09-01T00:00:00Z" is not a date: {expected}; write the date alone: 2025-09-01 (lead "L-1")"#
        )
    );
}

#[test]
fn errors_inside_an_event_name_the_field_and_the_event() {
    let refusal_budget = |budget: Value| with("/leads/1/events/3/budget", budget);
    let review = |fields: Value| {
        edited(|i| {
            let mut event = json!({ "id": "E-5", "at": "2025-06-02T07:00:00Z", "by": "m-1",
                                    "type": "review_decision" });
            event
                .as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            i["leads"][1]["events"].as_array_mut().unwrap().push(event);
        })
    };
    let cases = [
        (
            edited(|i| {
                i["leads"][1]["events"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("outcome");
            }),
            r#"leads[1].events[1].outcome: missing field (lead "L-2", event "E-2")"#,
        ),
        (
            with("/leads/1/events/1/outcome", json!("hung_up")),
            r#"leads[1].events[1].outcome: unknown variant `hung_up`, expected one of `no_answer`, `busy`, `wrong_number`, `voicemail`, `reached` (lead "L-2", event "E-2")"#,
        ),
        (
            with("/leads/1/events/2/notes", json!(5)),
            r#"leads[1].events[2].notes: invalid type: integer `5`, expected a string (lead "L-2", event "E-3")"#,
        ),
        (
            refusal_budget(json!({ "minor": 1500000 })),
            r#"leads[1].events[3].budget.currency: missing field (lead "L-2", event "E-4")"#,
        ),
        (
            refusal_budget(json!({ "minor": "15000", "currency": "ILS" })),
            r#"leads[1].events[3].budget.minor: invalid type: string "15000", expected i64 (lead "L-2", event "E-4")"#,
        ),
        (
            review(json!({ "decision": "return_to_funnel" })),
            r#"leads[1].events[4].offer_change: missing field (lead "L-2", event "E-5")"#,
        ),
        (
            review(json!({ "decision": "refusal_validated", "note": 5 })),
            r#"leads[1].events[4].note: invalid type: integer `5`, expected a string (lead "L-2", event "E-5")"#,
        ),
        (
            with("/leads/1/events/1/by", json!(7)),
            r#"leads[1].events[1].by: invalid type: integer `7`, expected a string (lead "L-2", event "E-2")"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(message(&input), expected);
    }
}

#[test]
fn an_unknown_event_type_is_named_at_type() {
    let types = "`created`, `attempt`, `conversation`, `next_step`, `quote_sent`, \
                 `materials_requested`, `materials_sent`, `refusal`, `review_decision`, `won`, \
                 `order`, `assigned`, `status_override`, `conflict_resolved`";
    assert_eq!(
        eval_error(
            "typo-type",
            &with("/leads/1/events/1/type", json!("atempt"))
        ),
        r#"leads[1].events[1].type: unknown variant `atempt`, did you mean `attempt`? (lead "L-2", event "E-2")"#
    );
    assert_eq!(
        message(&with("/leads/1/events/1/type", json!("phone_call"))),
        format!(
            r#"leads[1].events[1].type: unknown variant `phone_call`, expected one of {types} (lead "L-2", event "E-2")"#
        )
    );
    let input = edited(|i| {
        i["leads"][1]["events"][1]
            .as_object_mut()
            .unwrap()
            .remove("type");
    });
    assert_eq!(
        message(&input),
        format!(
            r#"leads[1].events[1].type: missing field, expected one of {types} (lead "L-2", event "E-2")"#
        )
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
