use super::stat_names;

crate::counters! {
    enum Sample under "tollgate.test." {
        /// Documented.
        First = "first",
        Second = "second.sub",
    }
}

#[test]
fn the_list_gives_all_names_and_indexes() {
    assert_eq!(Sample::ALL, [Sample::First, Sample::Second]);
    assert_eq!(Sample::Second.name(), "second.sub");
    assert_eq!(
        stat_names::<Sample>(),
        ["tollgate.test.first", "tollgate.test.second.sub"]
    );
    for (i, s) in Sample::ALL.into_iter().enumerate() {
        assert_eq!(super::CounterSet::index(s), i);
    }
}
