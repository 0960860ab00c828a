use super::Stat;
use tollgate_common::counters::stat_names;

#[test]
fn every_counter_has_its_own_unchanged_name() {
    let names = stat_names::<Stat>();
    let expected = [
        "tollgate.headers.requests",
        "tollgate.headers.rules_matched",
        "tollgate.headers.headers_added",
        "tollgate.headers.headers_removed",
        "tollgate.headers.values_dropped",
        "tollgate.headers.ambiguous_paths",
    ];
    assert_eq!(names, expected);
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len());
}
