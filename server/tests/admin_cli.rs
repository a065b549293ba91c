//! The admin commands end to end through the `fieldbook` binary: a team, members and tokens
//! in a fresh data directory; bad arguments give a message naming the argument and a non-zero
//! exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fieldbook(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldbook"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("the fieldbook binary runs")
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fieldbook-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn fails(out: &Output, code: i32, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout on failure");
}

#[test]
fn team_members_and_tokens_through_the_binary() {
    let data = data_dir("admin");
    let created = ok(&fieldbook(
        &data,
        &["team", "create", "acme", "--name", "Acme"],
    ));
    assert!(created.starts_with("created team acme"), "{created}");
    assert!(data.join("relay.sqlite").exists(), "created on first use");
    fails(
        &fieldbook(&data, &["team", "create", "acme", "--name", "Acme"]),
        1,
        "error: team \"acme\" already exists",
    );
    ok(&fieldbook(
        &data,
        &[
            "member", "add", "--team", "acme", "m1", "--name", "Maya", "--role", "manager",
        ],
    ));
    ok(&fieldbook(
        &data,
        &[
            "member",
            "add",
            "--team",
            "acme",
            "r1",
            "--name",
            "Rafi",
            "--role",
            "rep",
            "--manager",
            "m1",
            "--time-zone",
            "Asia/Jerusalem",
        ],
    ));
    let list = ok(&fieldbook(&data, &["member", "list", "--team", "acme"]));
    assert_eq!(
        list,
        "id\trole\tmanager\ttime zone\tname\n\
         m1\tmanager\t-\tUTC\tMaya\n\
         r1\trep\tm1\tAsia/Jerusalem\tRafi\n"
    );
    let token = ok(&fieldbook(
        &data,
        &[
            "token", "issue", "--team", "acme", "--member", "r1", "--ttl", "2h",
        ],
    ));
    assert!(
        token.starts_with("fb1.") && token.ends_with('\n'),
        "{token}"
    );
    let tokens = ok(&fieldbook(&data, &["token", "list"]));
    let id = tokens.lines().nth(1).unwrap().split('\t').next().unwrap();
    assert!(
        tokens.contains("\tacme\tr1\trep\t") && tokens.contains("valid"),
        "{tokens}"
    );
    let revoked = ok(&fieldbook(&data, &["token", "revoke", id]));
    assert_eq!(revoked, format!("revoked token {id} of r1 (team acme)\n"));
    assert!(ok(&fieldbook(&data, &["token", "list"])).contains("revoked "));
    let removed = ok(&fieldbook(
        &data,
        &["member", "remove", "--team", "acme", "r1"],
    ));
    assert_eq!(removed, "removed r1 from team acme; revoked 0 token(s)\n");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn bad_arguments_name_what_is_wrong() {
    let data = data_dir("bad");
    fails(
        &fieldbook(&data, &["member", "list", "--team", "nope"]),
        1,
        "error: no team \"nope\" in this data directory (create it with `fieldbook team create`)",
    );
    fails(
        &fieldbook(&data, &["team", "create", "a/b", "--name", "x"]),
        1,
        "error: team id: must not contain '/' (got \"a/b\")",
    );
    ok(&fieldbook(&data, &["team", "create", "t", "--name", "T"]));
    fails(
        &fieldbook(
            &data,
            &["team", "create", "c", "--name", "C", "--currency", "shekel"],
        ),
        1,
        "error: playbook.currency: \"shekel\" is not an ISO 4217 currency code like \"ILS\"\n",
    );
    fails(
        &fieldbook(
            &data,
            &[
                "member", "add", "--team", "t", "x", "--name", "X", "--role", "boss",
            ],
        ),
        2,
        "invalid value 'boss' for '--role <ROLE>'",
    );
    fails(
        &fieldbook(
            &data,
            &[
                "member",
                "add",
                "--team",
                "t",
                "x",
                "--name",
                "X",
                "--role",
                "rep",
                "--manager",
                "y",
            ],
        ),
        1,
        "error: --manager: no member \"y\" in team \"t\"",
    );
    fails(
        &fieldbook(&data, &["token", "issue", "--team", "t", "--member", "x"]),
        1,
        "error: --member: no member \"x\" in team \"t\"",
    );
    fails(
        &fieldbook(
            &data,
            &[
                "token", "issue", "--team", "t", "--member", "x", "--ttl", "soon",
            ],
        ),
        2,
        "invalid value 'soon' for '--ttl <TTL>'",
    );
    fails(
        &fieldbook(&data, &["token", "revoke", "zzz"]),
        1,
        "error: no token with id \"zzz\"",
    );
    fails(&fieldbook(&data, &["member"]), 2, "Usage: fieldbook member");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn demo_creates_a_team_with_leads_and_tokens() {
    let data = data_dir("demo");
    let out = ok(&fieldbook(&data, &["demo", "--leads", "40"]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("created demo team demo with 40 leads in "),
        "{out}"
    );
    let members: Vec<&str> = lines[2..]
        .iter()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(members, ["a-admin", "m-dana", "r-yossi", "r-ioana"]);
    assert!(
        lines[2..]
            .iter()
            .all(|l| l.split('\t').nth(2).unwrap().starts_with("fb1."))
    );
    fails(
        &fieldbook(&data, &["demo"]),
        1,
        "team \"demo\" already exists",
    );
    std::fs::remove_dir_all(&data).unwrap();
}
