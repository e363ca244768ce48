//! The `profile` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::profile;

const YES: Flag = Flag::switch("yes", Some('y'), "Do not ask for confirmation.");

const PROFILE_FLAGS: &[Flag] = &[
    Flag::value(
        "region",
        "REGION",
        "AWS region of the Identity Center instance.",
    )
    .shadowing_global(),
    Flag::value("sso-instance-arn", "ARN", "Identity Center instance ARN."),
    Flag::value(
        "identity-store-id",
        "ID",
        "Identity store id (d-xxxxxxxxxx).",
    ),
    Flag::value(
        "sso-instance-name",
        "NAME",
        "A name for the instance, for display.",
    ),
    Flag::value(
        "aws-profile",
        "NAME",
        "AWS profile for credentials (default: the profile's own name).",
    ),
    Flag::switch("default", None, "Make this the default profile."),
];

/// The `profile` group.
pub(crate) const GROUP: Group = Group {
    name: "profile",
    about: "Named settings: region, instance, AWS profile",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List profiles",
            doc: "",
            args: &[],
            flags: &[],
            examples: &["profile list"],
            access: Access::Local,
            json: "{\"defaultProfile\", \"profiles\": [{name, default, region, \
                       sso_instance_arn, identity_store_id, sso_instance_name, aws_profile}]}.",
            run: profile::list,
        },
        Command {
            name: "add",
            about: "Add a profile",
            doc: "Adds a profile. The first profile added becomes the default.",
            args: &[Positional::required("NAME", "Profile name.")],
            flags: PROFILE_FLAGS,
            examples: &["profile add prod --region us-east-1 --default"],
            access: Access::Local,
            json: "The saved profile: {name, default, region, sso_instance_arn, \
                   identity_store_id, sso_instance_name, aws_profile}, as in 'profile list'.",
            run: profile::add,
        },
        Command {
            name: "update",
            about: "Change a profile",
            doc: "Changes the given settings; an empty value removes a setting.",
            args: &[Positional::required("NAME", "Profile name.")],
            flags: PROFILE_FLAGS,
            examples: &["profile update prod --region eu-west-1"],
            access: Access::Local,
            json: "The saved profile, as 'profile add' prints it.",
            run: profile::update,
        },
        Command {
            name: "remove",
            about: "Remove a profile",
            doc: "Removes the profile from the configuration file. Asks first on a terminal; \
                  needs --yes otherwise.",
            args: &[Positional::required("NAME", "Profile name.")],
            flags: &[YES],
            examples: &["profile remove old", "profile remove old --yes"],
            access: Access::Local,
            json: "{\"name\", \"removed\": true}.",
            run: profile::remove,
        },
        Command {
            name: "set-default",
            about: "Make a profile the default",
            doc: "",
            args: &[Positional::required("NAME", "Profile name.")],
            flags: &[],
            examples: &["profile set-default prod"],
            access: Access::Local,
            json: "The new default profile, as 'profile add' prints it.",
            run: profile::set_default,
        },
    ],
};
