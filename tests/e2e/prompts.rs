//! Confirmations on a terminal: the question names what goes (name, display name, id), and
//! "no" changes nothing and exits 0.

use crate::common::TestEnv;

#[test]
fn a_declined_delete_names_its_target_changes_nothing_and_exits_0() {
    let t = TestEnv::new();
    let store = t.discover();
    let id = t.seed_user(&store, "alice", "Alice", "Liddell");
    let Some(no) = t.run_in_terminal(&["user", "delete", "alice"], "n\n") else {
        eprintln!("skipped: util-linux script not found (needed for a pseudo-terminal)");
        return;
    };
    assert!(
        no.screen.contains(&format!(
            "delete user alice (Alice Liddell, id {id})? [y/N]"
        )),
        "{}",
        no.screen
    );
    assert!(
        no.screen.contains("awsideman: nothing changed"),
        "{}",
        no.screen
    );
    assert!(!no.screen.contains("error"), "{}", no.screen);
    assert_eq!(no.code, 0, "{}", no.screen);
    assert_eq!(t.json(&["user", "get", "alice"])["UserId"], id.as_str());

    // An empty answer is no as well; yes deletes.
    let empty = t
        .run_in_terminal(&["user", "delete", "alice"], "\n")
        .unwrap();
    assert_eq!(empty.code, 0, "{}", empty.screen);
    assert!(empty.screen.contains("nothing changed"), "{}", empty.screen);
    let yes = t
        .run_in_terminal(&["user", "delete", "alice"], "y\n")
        .unwrap();
    assert_eq!(yes.code, 0, "{}", yes.screen);
    assert!(yes.screen.contains(&format!("({id})")), "{}", yes.screen);
    t.fails(1, &["--no-cache", "user", "get", "alice"]);

    // Off a terminal nothing is asked: --yes is required (exit 2), as before.
    t.seed_user(&store, "bob", "Bob", "Builder");
    t.fails(2, &["user", "delete", "bob"]);
}
