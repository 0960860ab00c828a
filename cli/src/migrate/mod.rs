pub fn run(_p: &std::path::Path, _d: &str, _o: bool) -> bool { false }
