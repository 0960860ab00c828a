use super::*;

fn add(name: &str, value: &str, action: AppendAction) -> Ops {
    Ops {
        remove: vec![],
        add: vec![(name.to_string(), value.to_string(), action)],
        ..Ops::default()
    }
}

#[test]
fn append_actions() {
    use AppendAction::*;
    // (action, header present before?, values after, counted as added)
    let cases = [
        (AppendIfExistsOrAdd, false, vec!["new"], 1),
        (AppendIfExistsOrAdd, true, vec!["old", "new"], 1),
        (AddIfAbsent, false, vec!["new"], 1),
        (AddIfAbsent, true, vec!["old"], 0),
        (OverwriteIfExistsOrAdd, false, vec!["new"], 1),
        (OverwriteIfExistsOrAdd, true, vec!["new"], 1),
        (OverwriteIfExists, false, vec![], 0),
        (OverwriteIfExists, true, vec!["new"], 1),
    ];
    for (action, present, want, added) in cases {
        let mut h = if present {
            Headers::of(&[("x", "old"), ("y", "1")])
        } else {
            Headers::of(&[("y", "1")])
        };
        let applied = apply(&add("x", "new", action), &mut h);
        assert_eq!(h.all("x"), want, "{action:?} present={present}");
        assert_eq!(
            applied,
            Applied { added, removed: 0 },
            "{action:?} present={present}"
        );
        assert_eq!(h.all("y"), ["1"], "other headers untouched");
    }
}

#[test]
fn overwrite_replaces_every_value() {
    let mut h = Headers::of(&[("x", "a"), ("x", "b")]);
    apply(&add("x", "c", AppendAction::OverwriteIfExistsOrAdd), &mut h);
    assert_eq!(h.all("x"), ["c"]);
}

#[test]
fn removals_come_first_and_count_only_present_headers() {
    let ops = Ops {
        remove: vec!["x".into(), "missing".into(), "z".into()],
        add: vec![("x".into(), "fresh".into(), AppendAction::AddIfAbsent)],
        ..Ops::default()
    };
    let mut h = Headers::of(&[("x", "stale"), ("x", "stale2"), ("z", "1"), ("keep", "k")]);
    let applied = apply(&ops, &mut h);
    // ADD_IF_ABSENT sees the header already removed.
    assert_eq!(h, Headers::of(&[("keep", "k"), ("x", "fresh")]));
    assert_eq!(
        applied,
        Applied {
            added: 1,
            removed: 2
        }
    );
    assert_eq!(apply(&Ops::default(), &mut h), Applied::default());
}

#[test]
fn successive_adds_see_earlier_ones() {
    let ops = Ops {
        remove: vec![],
        add: vec![
            ("x".into(), "1".into(), AppendAction::AddIfAbsent),
            ("x".into(), "2".into(), AppendAction::AddIfAbsent),
            ("x".into(), "3".into(), AppendAction::AppendIfExistsOrAdd),
        ],
        ..Ops::default()
    };
    let mut h = Headers::default();
    assert_eq!(
        apply(&ops, &mut h),
        Applied {
            added: 2,
            removed: 0
        }
    );
    assert_eq!(h.all("x"), ["1", "3"]);
}
