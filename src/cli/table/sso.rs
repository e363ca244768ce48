//! The `sso` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::sso;

/// The `sso` group.
pub(crate) const GROUP: Group = Group {
    name: "sso",
    about: "The IAM Identity Center instance of a profile",
    groups: &[],
    commands: &[
        Command {
            name: "discover",
            about: "Find the instance and save it into the profile",
            doc: "Calls sso-admin ListInstances. With exactly one instance, saves its ARN, \
                      identity store id and the region it was found in (--region included, \
                      replacing the profile's region, and saying so) into the profile \
                      (creating the profile if needed); with several, lists them for 'sso set'.",
            args: &[],
            flags: &[],
            examples: &["sso discover --profile prod --region eu-west-1"],
            access: Access::Read,
            json: "{\"profile\", \"saved\": bool, \"region\": the region saved (only when \
                   saved), \"Instances\": [Instance, ...]}.",
            run: sso::discover,
        },
        Command {
            name: "set",
            about: "Set the instance of the profile by hand",
            doc: "",
            args: &[
                Positional::required("INSTANCE_ARN", "arn:aws:sso:::instance/ssoins-..."),
                Positional::required("IDENTITY_STORE_ID", "d-xxxxxxxxxx"),
            ],
            flags: &[Flag::value("name", "NAME", "A name for the instance.")],
            examples: &["sso set arn:aws:sso:::instance/ssoins-0123456789abcdef d-0123456789"],
            access: Access::Local,
            json: "Same as 'sso info'.",
            run: sso::set,
        },
        Command {
            name: "info",
            about: "Show the instance settings of the profile",
            doc: "",
            args: &[],
            flags: &[],
            examples: &["sso info"],
            access: Access::Local,
            json: "{\"profile\", \"region\", \"sso_instance_arn\", \"identity_store_id\", \
                       \"sso_instance_name\"}.",
            run: sso::info,
        },
    ],
};
