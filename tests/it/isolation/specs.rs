//! Isolation specs in PostgreSQL's isolationtester format
//! (`tests/isolation/specs/*.spec`: setup, sessions with their setup and
//! steps, optional permutations), run here on every permutation and
//! compared with what PostgreSQL 15 answered for the same permutations
//! (`tests/isolation/expected/*.out`, recorded by
//! `scripts/pg-isolation.sh`). Where we answer differently on purpose,
//! `expected/<name>.neuraldb.out` holds our answer and its first lines say
//! why; such differences are listed in docs/sql-deviations.md.
//!
//! Transcript format (the same from both engines): a `permutation: ...`
//! line, then one line per step: `name: ok`, `name: rows a|b; c|d`,
//! `name: ERROR <sqlstate>`, or `name: <waiting>` followed later by
//! `name: <completed> ...` once it finishes; a step of a waiting session
//! makes the permutation `invalid`.
//!
//! `NEURALDB_SPEC=name` runs one spec; `NEURALDB_SPEC_BLESS=1` writes our
//! transcript next to the expected one (`.actual`) for inspection.

use std::collections::BTreeMap;
use std::path::Path;

use neuraldb::engine::{Outcome, SessionId, Submitted};
use neuraldb::value::tz::TimeZone;

#[derive(Debug, Default)]
pub(super) struct SessionSpec {
    pub name: String,
    pub setup: Vec<String>,
    pub steps: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub(super) struct Spec {
    pub setup: Vec<String>,
    pub sessions: Vec<SessionSpec>,
    pub permutations: Vec<Vec<String>>,
}

/// Reads a `{ ... }` block (nested braces counted) after position `i`.
fn block(text: &str, i: &mut usize) -> String {
    let bytes = text.as_bytes();
    while *i < bytes.len() && bytes[*i] != b'{' {
        *i += 1;
    }
    let start = *i + 1;
    let mut depth = 0;
    while *i < bytes.len() {
        match bytes[*i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    let body = text[start..*i].trim().to_string();
                    *i += 1;
                    return body;
                }
            }
            _ => {}
        }
        *i += 1;
    }
    panic!("unterminated block in spec")
}

fn word(text: &str, i: &mut usize) -> Option<String> {
    let bytes = text.as_bytes();
    loop {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
        if *i < bytes.len() && bytes[*i] == b'#' {
            while *i < bytes.len() && bytes[*i] != b'\n' {
                *i += 1;
            }
            continue;
        }
        break;
    }
    let start = *i;
    while *i < bytes.len() && !bytes[*i].is_ascii_whitespace() && bytes[*i] != b'{' {
        *i += 1;
    }
    (*i > start).then(|| text[start..*i].to_string())
}

pub(super) fn parse(text: &str) -> Spec {
    let mut spec = Spec::default();
    let mut i = 0;
    while let Some(w) = word(text, &mut i) {
        match w.as_str() {
            "setup" => {
                let b = block(text, &mut i);
                match spec.sessions.last_mut() {
                    Some(s) => s.setup.push(b),
                    None => spec.setup.push(b),
                }
            }
            "teardown" => {
                block(text, &mut i);
            }
            "session" => spec.sessions.push(SessionSpec {
                name: word(text, &mut i).expect("session name"),
                ..SessionSpec::default()
            }),
            "step" => {
                let name = word(text, &mut i).expect("step name");
                let sql = block(text, &mut i);
                spec.sessions
                    .last_mut()
                    .expect("step inside a session")
                    .steps
                    .push((name, sql));
            }
            "permutation" => {
                let line_end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                let steps = text[i..line_end]
                    .split_whitespace()
                    .map(|s| s.trim_matches('"').to_string())
                    .collect();
                spec.permutations.push(steps);
                i = line_end;
            }
            other => panic!("unknown spec keyword {other}"),
        }
    }
    spec
}

/// Every interleaving of the sessions' steps (each session's in order).
fn all_permutations(spec: &Spec) -> Vec<Vec<String>> {
    fn go(spec: &Spec, pos: &mut Vec<usize>, cur: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut any = false;
        for s in 0..spec.sessions.len() {
            if pos[s] < spec.sessions[s].steps.len() {
                any = true;
                cur.push(spec.sessions[s].steps[pos[s]].0.clone());
                pos[s] += 1;
                go(spec, pos, cur, out);
                pos[s] -= 1;
                cur.pop();
            }
        }
        if !any {
            out.push(cur.clone());
        }
    }
    let mut out = Vec::new();
    go(
        spec,
        &mut vec![0; spec.sessions.len()],
        &mut Vec::new(),
        &mut out,
    );
    out
}

fn describe(o: &Outcome) -> String {
    if let Some(e) = &o.error {
        return format!("ERROR {}", e.sqlstate().as_str());
    }
    let tz = TimeZone::utc();
    match o.results.last() {
        Some(r) if !r.columns.is_empty() => {
            let rows: Vec<String> = r
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| v.to_pg_text(&tz).unwrap_or_else(|| "NULL".into()))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect();
            format!("rows {}", rows.join("; "))
        }
        _ => "ok".into(),
    }
}

/// Runs one permutation on a fresh engine; its transcript lines.
fn run_permutation(spec: &Spec, perm: &[String]) -> Vec<String> {
    let mut e = super::harness::test_engine();
    let admin = e.connect();
    for sql in &spec.setup {
        e.execute(admin, sql, Vec::new())
            .unwrap_or_else(|err| panic!("setup {sql}: {err}"));
    }
    let sids: Vec<SessionId> = spec.sessions.iter().map(|_| e.connect()).collect();
    for (s, sid) in spec.sessions.iter().zip(&sids) {
        for sql in &s.setup {
            e.execute(*sid, sql, Vec::new())
                .unwrap_or_else(|err| panic!("session {} setup {sql}: {err}", s.name));
        }
    }
    let owner: BTreeMap<&str, usize> = spec
        .sessions
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.steps.iter().map(move |(n, _)| (n.as_str(), i)))
        .collect();
    let sql_of: BTreeMap<&str, &str> = spec
        .sessions
        .iter()
        .flat_map(|s| s.steps.iter().map(|(n, q)| (n.as_str(), q.as_str())))
        .collect();
    let mut lines = vec![format!("permutation: {}", perm.join(" "))];
    // The step each waiting session runs.
    let mut waiting: BTreeMap<usize, String> = BTreeMap::new();
    for step in perm {
        let s = owner[step.as_str()];
        if waiting.contains_key(&s) {
            lines.push("invalid permutation: a step of a waiting session".into());
            break;
        }
        match e.submit(sids[s], sql_of[step.as_str()], Vec::new()) {
            Submitted::Parked => {
                lines.push(format!("{step}: <waiting>"));
                waiting.insert(s, step.clone());
            }
            Submitted::Done(o) => lines.push(format!("{step}: {}", describe(&o))),
        }
        let done = e.take_completions();
        let mut by_session: BTreeMap<usize, Outcome> = BTreeMap::new();
        for (sid, o) in done {
            let idx = sids.iter().position(|x| *x == sid).expect("a spec session");
            by_session.insert(idx, o);
        }
        for (idx, o) in by_session {
            let name = waiting.remove(&idx).expect("a waiting session completed");
            lines.push(format!("{name}: <completed> {}", describe(&o)));
        }
    }
    for name in waiting.values() {
        lines.push(format!("{name}: <still waiting>"));
    }
    lines
}

/// The transcript of every permutation of `spec`.
pub(super) fn transcript(spec: &Spec) -> String {
    let perms = if spec.permutations.is_empty() {
        all_permutations(spec)
    } else {
        spec.permutations.clone()
    };
    let mut out = String::new();
    for p in perms {
        for l in run_permutation(spec, &p) {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[test]
fn isolation_specs_agree_with_postgresql() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/isolation");
    let mut names: Vec<String> = std::fs::read_dir(root.join("specs"))
        .expect("tests/isolation/specs")
        .filter_map(|e| {
            let p = e.ok()?.path();
            if p.extension()? != "spec" {
                return None;
            }
            Some(p.file_stem()?.to_string_lossy().into_owned())
        })
        .filter(|n| std::env::var("NEURALDB_SPEC").map_or(true, |w| n.contains(w.as_str())))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no specs");
    let mut failures = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(root.join("specs").join(format!("{name}.spec")))
            .expect("spec readable");
        let ours = transcript(&parse(&text));
        let own = root.join("expected").join(format!("{name}.neuraldb.out"));
        let pg = root.join("expected").join(format!("{name}.out"));
        let expected = match std::fs::read_to_string(&own) {
            // Our deliberate answer: its leading `#` lines say why.
            Ok(t) => {
                t.lines()
                    .skip_while(|l| l.starts_with('#'))
                    .collect::<Vec<_>>()
                    .join("\n")
                    + "\n"
            }
            Err(_) => std::fs::read_to_string(&pg).unwrap_or_else(|_| {
                panic!("{} missing: run scripts/pg-isolation.sh", pg.display())
            }),
        };
        if std::env::var("NEURALDB_SPEC_BLESS").is_ok() {
            std::fs::write(root.join("expected").join(format!("{name}.actual")), &ours)
                .expect("write actual");
        }
        if ours.trim() != expected.trim() {
            let diff: Vec<String> = expected
                .lines()
                .zip(ours.lines())
                .filter(|(a, b)| a != b)
                .take(6)
                .map(|(a, b)| format!("    postgresql: {a}\n    neuraldb:   {b}"))
                .collect();
            failures.push(format!("{name}:\n{}", diff.join("\n")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} specs differ from PostgreSQL 15:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
