//! Shell completion scripts for bash, zsh and fish, generated from the command table.
//!
//! Each script completes the group, then the command, then the flags (the command's and the
//! global ones) and the choices of a flag's value. Values of flags whose value name mentions a
//! file, path or directory complete as file names; other free values complete to nothing.

use std::fmt::Write;

use serde_json::json;

use crate::cli::help::unshadowed_globals;
use crate::cli::spec::GLOBAL_FLAGS;
use crate::cli::spec::{Command, Flag, Group, every_command, every_group, path_words};
use crate::cli::table::GROUPS;
use crate::commands::Context;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{OutputFormat, Report, View};

/// The shells [`render`] knows.
pub(crate) const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// The description of the `help` word in completions.
const HELP_ABOUT: &str = "Show help for a group or command";

/// `completion SHELL`: the script of the whole command table, as a report. The script
/// itself is printed whether or not stdout is a terminal (`source <(awsideman completion
/// bash)`); only an explicit `--output json` prints the JSON document.
fn script(ctx: &mut Context, shell: &str) -> Result<Report> {
    let text = render(GROUPS, shell)?;
    if ctx.globals.output.is_none() {
        ctx.output = OutputFormat::Table;
    }
    Ok(Report::new(
        json!({"shell": shell, "script": text}),
        View::Generated(text.trim_end().to_string()),
    ))
}

/// `completion bash`.
pub(crate) fn run_bash(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script(ctx, "bash")
}

/// `completion zsh`.
pub(crate) fn run_zsh(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script(ctx, "zsh")
}

/// `completion fish`.
pub(crate) fn run_fish(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script(ctx, "fish")
}

/// The completion script for `shell` (`bash`, `zsh` or `fish`).
pub(crate) fn render(groups: &'static [Group], shell: &str) -> Result<String> {
    match shell {
        "bash" => Ok(bash(groups)),
        "zsh" => Ok(zsh(groups)),
        "fish" => Ok(fish(groups)),
        other => Err(Error::usage(format!(
            "unknown shell {other:?} (allowed: {})",
            SHELLS.join(", ")
        ))),
    }
}

/// Whether the flag's value is a file name, judged by its value name (`FILE`, `PATH`, `DIR`).
fn takes_file(flag: &Flag) -> bool {
    flag.value.is_some_and(|v| {
        ["FILE", "PATH", "DIR"]
            .iter()
            .any(|k| v.to_uppercase().contains(k))
    })
}

/// Whether the command has a flag of the same long name as a global one (which it shadows).
fn shadows_a_global(command: &Command) -> bool {
    unshadowed_globals(command.flags).count() < GLOBAL_FLAGS.len()
}

/// The spellings of a flag on the command line: `--profile` and `-p`.
fn spellings(flag: &Flag) -> Vec<String> {
    let mut names = vec![format!("--{}", flag.long)];
    names.extend(flag.short.map(|c| format!("-{c}")));
    names
}

/// The spellings of every value-taking flag among `flags`, space-separated.
fn value_spellings(flags: &[Flag]) -> String {
    let names: Vec<String> = flags
        .iter()
        .filter(|f| f.value.is_some())
        .flat_map(spellings)
        .collect();
    names.join(" ")
}

/// `text` in single quotes for bash and zsh.
fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// A level of the table: the words leading to a group (`cache encryption`; "" for the top)
/// and the names that may follow them, with what each is.
struct Level {
    path: String,
    children: Vec<(&'static str, &'static str)>,
}

/// Every level of the table: the top (its groups), then every group (its commands, then its
/// groups), in table order.
fn levels(groups: &'static [Group]) -> Vec<Level> {
    let mut out = vec![Level {
        path: String::new(),
        children: groups.iter().map(|g| (g.name, g.about)).collect(),
    }];
    for path in every_group(groups) {
        let Some(group) = path.last() else { continue };
        out.push(Level {
            path: path_words(&path),
            children: group
                .commands
                .iter()
                .map(|c| (c.name, c.about))
                .chain(group.groups.iter().map(|g| (g.name, g.about)))
                .collect(),
        });
    }
    out
}

/// Every command with its whole path (`cache encryption rotate`), in table order.
fn commands(groups: &'static [Group]) -> Vec<(String, &'static Command)> {
    every_command(groups)
        .into_iter()
        .map(|(path, c)| (format!("{} {}", path_words(&path), c.name), c))
        .collect()
}

/// The bash script: a `complete -F` function.
fn bash(groups: &'static [Group]) -> String {
    let commands = commands(groups);
    let mut s = String::new();
    s.push_str("# bash completion for awsideman, generated from its command table.\n\n");

    s.push_str("# The names that may follow the words $1 (\"\" at the top).\n");
    s.push_str("_awsideman_children() {\n    case \"$1\" in\n");
    for level in levels(groups) {
        let names: Vec<&str> = level.children.iter().map(|(n, _)| *n).collect();
        let _ = writeln!(
            s,
            "        {}) echo {} ;;",
            sh_quote(&level.path),
            sh_quote(&names.join(" "))
        );
    }
    s.push_str("    esac\n}\n\n");

    s.push_str("_awsideman() {\n");
    s.push_str("    local cur=${COMP_WORDS[COMP_CWORD]} prev=\n");
    s.push_str("    if ((COMP_CWORD > 0)); then prev=${COMP_WORDS[COMP_CWORD-1]}; fi\n");
    s.push_str("    # \"--flag=value\" arrives as three words: --flag, =, value.\n");
    s.push_str("    if [[ $cur == = ]]; then\n        cur=\n");
    s.push_str("    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n");
    s.push_str("        prev=${COMP_WORDS[COMP_CWORD-2]}\n    fi\n\n");

    s.push_str("    # The words before the cursor that are not flags or flag values: the path\n");
    s.push_str("    # of groups, then the command once it is complete.\n");
    let _ = writeln!(
        s,
        "    local takes_value={}",
        sh_quote(&format!(" {} ", value_spellings(GLOBAL_FLAGS)))
    );
    s.push_str("    local path= command= help= i word\n");
    s.push_str("    for ((i = 1; i < COMP_CWORD; i++)); do\n");
    s.push_str("        word=${COMP_WORDS[i]}\n");
    s.push_str("        if [[ $word == -- ]]; then\n            continue\n");
    s.push_str("        elif [[ $takes_value == *\" $word \"* ]]; then\n");
    s.push_str(
        "            if [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i += 1)); fi\n",
    );
    s.push_str("        elif [[ $word == = ]]; then\n            ((i += 1))\n");
    s.push_str("        elif [[ $word != -* && -z $command ]]; then\n");
    s.push_str("            if [[ -z $path && -z $help && $word == help ]]; then\n");
    s.push_str("                help=1\n                continue\n            fi\n");
    s.push_str("            path=${path:+$path }$word\n");
    s.push_str("            case \"$path\" in\n");
    for (path, c) in &commands {
        let values = value_spellings(c.flags);
        let extra = if values.is_empty() {
            String::new()
        } else {
            format!("; takes_value+={}", sh_quote(&format!("{values} ")))
        };
        let _ = writeln!(
            s,
            "                {}) command=$path{extra} ;;",
            sh_quote(path)
        );
    }
    s.push_str("            esac\n        fi\n    done\n\n");

    s.push_str("    # The value of a flag: the command's, else a global one.\n");
    s.push_str("    case \"$command $prev\" in\n");
    for (path, c) in &commands {
        push_bash_values(&mut s, &format!("{path} "), c.flags);
    }
    s.push_str("    esac\n    case \"$prev\" in\n");
    push_bash_values(&mut s, "", GLOBAL_FLAGS);
    s.push_str("    esac\n\n");

    s.push_str("    if [[ $cur == -* ]]; then\n");
    let globals: Vec<String> = GLOBAL_FLAGS
        .iter()
        .map(|f| format!("--{}", f.long))
        .collect();
    let _ = writeln!(s, "        local flags={}", sh_quote(&globals.join(" ")));
    s.push_str("        case \"$command\" in\n");
    for (path, c) in &commands {
        let longs: Vec<String> = c.flags.iter().map(|f| format!("--{}", f.long)).collect();
        let pattern = sh_quote(path);
        if shadows_a_global(c) {
            let all: Vec<String> = unshadowed_globals(c.flags)
                .map(|f| format!("--{}", f.long))
                .chain(longs)
                .collect();
            let _ = writeln!(
                s,
                "            {pattern}) flags={} ;;",
                sh_quote(&all.join(" "))
            );
        } else if !longs.is_empty() {
            let _ = writeln!(
                s,
                "            {pattern}) flags+={} ;;",
                sh_quote(&format!(" {}", longs.join(" ")))
            );
        }
    }
    s.push_str("        esac\n");
    s.push_str("        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n");
    s.push_str("    elif [[ -z $command ]]; then\n");
    s.push_str("        local names=$(_awsideman_children \"$path\")\n");
    s.push_str("        if [[ -z $path && -z $help ]]; then names=\"help $names\"; fi\n");
    s.push_str("        COMPREPLY=($(compgen -W \"$names\" -- \"$cur\"))\n");
    s.push_str("    fi\n}\n\n");
    s.push_str("complete -F _awsideman awsideman\n");
    s
}

/// The `case` arms completing the values of `flags`; `prefix` is "group command " or "".
fn push_bash_values(s: &mut String, prefix: &str, flags: &[Flag]) {
    for flag in flags.iter().filter(|f| f.value.is_some()) {
        let patterns: Vec<String> = spellings(flag)
            .iter()
            .map(|n| sh_quote(&format!("{prefix}{n}")))
            .collect();
        let reply = if !flag.choices.is_empty() {
            format!(
                "COMPREPLY=($(compgen -W {} -- \"$cur\"))",
                sh_quote(&flag.choices.join(" "))
            )
        } else if takes_file(flag) {
            "COMPREPLY=($(compgen -f -- \"$cur\"))".to_string()
        } else {
            "COMPREPLY=()".to_string()
        };
        let _ = writeln!(
            s,
            "        {})\n            {reply}\n            return ;;",
            patterns.join("|")
        );
    }
}

/// Escapes text for the description inside `[...]` of an `_arguments` spec.
fn zsh_bracket(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
}

/// Escapes a colon-separated field of a zsh spec (`name:description`).
fn zsh_colon(text: &str) -> String {
    text.replace('\\', "\\\\").replace(':', "\\:")
}

/// The `_arguments` specs of `flags`, each quoted for the shell.
fn zsh_flag_specs<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> Vec<String> {
    let mut specs = Vec::new();
    for flag in flags {
        let repeat = if flag.multiple { "*" } else { "" };
        let about = zsh_bracket(&crate::cli::help::flag_about(flag));
        let value = flag.value.map(|name| {
            let action = if !flag.choices.is_empty() {
                format!("({})", flag.choices.join(" "))
            } else if takes_file(flag) {
                "_files".to_string()
            } else {
                " ".to_string()
            };
            format!(":{}:{action}", zsh_colon(name))
        });
        let (long_mark, short_mark) = if value.is_some() {
            ("=", "+")
        } else {
            ("", "")
        };
        let value = value.unwrap_or_default();
        specs.push(sh_quote(&format!(
            "{repeat}--{}{long_mark}[{about}]{value}",
            flag.long
        )));
        if let Some(c) = flag.short {
            specs.push(sh_quote(&format!(
                "{repeat}-{c}{short_mark}[{about}]{value}"
            )));
        }
    }
    specs
}

/// The zsh script: `#compdef` with `_describe` for names and `_arguments` for flags.
fn zsh(groups: &'static [Group]) -> String {
    let commands = commands(groups);
    let mut s = String::new();
    s.push_str("#compdef awsideman\n\n");
    s.push_str("# zsh completion for awsideman, generated from its command table.\n\n");

    s.push_str("# The names that may follow the words $1 (\"\" at the top), after the entries\n");
    s.push_str("# given as further arguments.\n");
    s.push_str("_awsideman_children() {\n    local -a names\n    names=(\"${(@)argv[2,-1]}\")\n");
    s.push_str("    case $1 in\n");
    for level in levels(groups) {
        let _ = writeln!(
            s,
            "        {})\n            names+=(",
            sh_quote(&level.path)
        );
        for (name, about) in &level.children {
            let _ = writeln!(
                s,
                "                {}",
                sh_quote(&format!("{}:{}", zsh_colon(name), zsh_colon(about)))
            );
        }
        s.push_str("            )\n            ;;\n");
    }
    s.push_str("    esac\n    _describe -t commands 'command' names\n}\n\n");

    s.push_str("_awsideman() {\n    local -a globals\n    globals=(\n");
    for spec in zsh_flag_specs(GLOBAL_FLAGS) {
        let _ = writeln!(s, "        {spec}");
    }
    s.push_str("    )\n");
    s.push_str("    # The words before the cursor that are not flags or flag values: the path\n");
    s.push_str("    # of groups, then the command once it is complete.\n");
    s.push_str("    local i=2 word path= command= help=\n");
    s.push_str("    while (( i < CURRENT )); do\n        word=$words[i]\n");
    s.push_str("        case $word in\n");
    let global_values: Vec<String> = GLOBAL_FLAGS
        .iter()
        .filter(|f| f.value.is_some())
        .flat_map(spellings)
        .map(|n| sh_quote(&n))
        .collect();
    let _ = writeln!(s, "            {}) (( i++ )) ;;", global_values.join("|"));
    s.push_str("            -*) ;;\n            *)\n");
    s.push_str("                if [[ -z $path && -z $help && $word == help ]]; then\n");
    s.push_str("                    help=1\n                else\n");
    s.push_str("                    path=${path:+$path }$word\n");
    s.push_str("                    case $path in\n");
    let patterns: Vec<String> = commands.iter().map(|(p, _)| sh_quote(p)).collect();
    for chunk in patterns.chunks(4) {
        let _ = writeln!(
            s,
            "                        {}) command=$path ;;",
            chunk.join("|")
        );
    }
    s.push_str("                    esac\n                fi\n                ;;\n");
    s.push_str("        esac\n        (( i++ ))\n");
    s.push_str("        if [[ -n $command && -z $help ]]; then break; fi\n");
    s.push_str("    done\n\n");

    s.push_str(
        "    # The value of a global flag before the command (after it, _arguments knows).\n",
    );
    s.push_str("    if [[ -z $command ]]; then\n    case $words[CURRENT-1] in\n");
    for flag in GLOBAL_FLAGS.iter().filter(|f| f.value.is_some()) {
        let patterns: Vec<String> = spellings(flag).iter().map(|n| sh_quote(n)).collect();
        let action = if !flag.choices.is_empty() {
            format!("compadd -- {}", flag.choices.join(" "))
        } else if takes_file(flag) {
            "_files".to_string()
        } else {
            format!("_message {}", sh_quote(flag.value.unwrap_or_default()))
        };
        let _ = writeln!(
            s,
            "        {})\n            {action}\n            return ;;",
            patterns.join("|")
        );
    }
    s.push_str("    esac\n    fi\n\n");
    s.push_str("    if [[ -n $help ]]; then\n");
    s.push_str("        [[ -z $command ]] && _awsideman_children \"$path\"\n");
    s.push_str("    elif [[ -z $command && $words[CURRENT] == -* ]]; then\n");
    s.push_str("        words=(awsideman \"$words[CURRENT]\")\n        CURRENT=2\n");
    s.push_str("        _arguments -s : $globals\n");
    let _ = writeln!(
        s,
        "    elif [[ -z $command && -z $path ]]; then\n        _awsideman_children '' {}",
        sh_quote(&format!("help:{}", zsh_colon(HELP_ABOUT)))
    );
    s.push_str("    elif [[ -z $command ]]; then\n        _awsideman_children \"$path\"\n");
    s.push_str("    else\n");
    s.push_str("        # Complete from the command word on, as if it were the program.\n");
    s.push_str("        words=(\"${(@)words[i-1,-1]}\")\n        (( CURRENT -= i - 2 ))\n");
    s.push_str("        case $command in\n");
    for (path, c) in &commands {
        let _ = writeln!(s, "            {})", sh_quote(path));
        if shadows_a_global(c) {
            s.push_str("                _arguments -s :");
            for spec in zsh_flag_specs(unshadowed_globals(c.flags)) {
                let _ = write!(s, " \\\n                    {spec}");
            }
        } else {
            s.push_str("                _arguments -s : $globals");
        }
        for spec in zsh_flag_specs(c.flags) {
            let _ = write!(s, " \\\n                    {spec}");
        }
        for (n, arg) in c.args.iter().enumerate() {
            let position = if arg.multiple {
                "*".to_string()
            } else {
                (n + 1).to_string()
            };
            let spec = format!("{position}:{}: ", zsh_colon(arg.name));
            let _ = write!(s, " \\\n                    {}", sh_quote(&spec));
        }
        s.push_str("\n                ;;\n");
    }
    s.push_str("        esac\n    fi\n}\n\n");
    s.push_str("if [[ $funcstack[1] == _awsideman ]]; then\n    _awsideman \"$@\"\nelse\n");
    s.push_str("    compdef _awsideman awsideman\nfi\n");
    s
}

/// `text` in single quotes for fish.
fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The `complete` options of a flag: names, value handling, choices, description.
fn fish_flag(flag: &Flag) -> String {
    let mut line = format!("-l {}", flag.long);
    if let Some(c) = flag.short {
        let _ = write!(line, " -s {c}");
    }
    if flag.value.is_some() {
        if !flag.choices.is_empty() {
            let _ = write!(line, " -x -a {}", fish_quote(&flag.choices.join(" ")));
        } else if takes_file(flag) {
            line.push_str(" -r -F");
        } else {
            line.push_str(" -x");
        }
    }
    let _ = write!(
        line,
        " -d {}",
        fish_quote(&crate::cli::help::flag_about(flag))
    );
    line
}

/// The fish script: `complete -c awsideman` lines guarded by the words typed so far.
fn fish(groups: &'static [Group]) -> String {
    let commands = commands(groups);
    let mut s = String::new();
    s.push_str("# fish completion for awsideman, generated from its command table.\n\n");
    s.push_str("# The words typed so far that are not flags or flag values, up to a whole\n");
    s.push_str("# command (after 'help' too).\n");
    s.push_str("function __awsideman_path\n");
    s.push_str("    set -l tokens (commandline -opc)\n    set -e tokens[1]\n");
    s.push_str("    set -l seen\n    set -l skip 0\n    for token in $tokens\n");
    s.push_str("        if test $skip -eq 1\n            set skip 0\n");
    let global_values: Vec<String> = GLOBAL_FLAGS
        .iter()
        .filter(|f| f.value.is_some())
        .flat_map(spellings)
        .collect();
    let _ = writeln!(
        s,
        "        else if contains -- $token {}",
        global_values.join(" ")
    );
    s.push_str("            set skip 1\n");
    s.push_str("        else if not string match -q -- '-*' $token\n");
    s.push_str("            set -a seen $token\n");
    s.push_str("            set -l words $seen\n");
    s.push_str("            if test \"$seen[1]\" = help\n                set -e words[1]\n            end\n");
    s.push_str("            switch (string join ' ' -- $words)\n");
    let patterns: Vec<String> = commands.iter().map(|(p, _)| fish_quote(p)).collect();
    for chunk in patterns.chunks(4) {
        let _ = writeln!(
            s,
            "                case {}\n                    break",
            chunk.join(" ")
        );
    }
    s.push_str("            end\n        end\n    end\n");
    s.push_str("    string join ' ' -- $seen\nend\n\n");
    s.push_str("# Whether the words typed so far are exactly $argv.\n");
    s.push_str("function __awsideman_at\n    set -l seen (__awsideman_path)\n    test \"$seen\" = \"$argv\"\nend\n\n");

    s.push_str("complete -c awsideman -f\n");
    for flag in GLOBAL_FLAGS {
        let shadowing: Vec<String> = commands
            .iter()
            .filter(|(_, c)| c.flags.iter().any(|f| f.long == flag.long))
            .map(|(path, _)| format!("not __awsideman_at {path}"))
            .collect();
        let condition = if shadowing.is_empty() {
            String::new()
        } else {
            format!("-n {} ", fish_quote(&shadowing.join("; and ")))
        };
        let _ = writeln!(s, "complete -c awsideman {condition}{}", fish_flag(flag));
    }
    let _ = writeln!(
        s,
        "complete -c awsideman -n '__awsideman_at' -a help -d {}",
        fish_quote(HELP_ABOUT)
    );
    for level in levels(groups) {
        let ats = if level.path.is_empty() {
            [
                "__awsideman_at".to_string(),
                "__awsideman_at help".to_string(),
            ]
        } else {
            [
                format!("__awsideman_at {}", level.path),
                format!("__awsideman_at help {}", level.path),
            ]
        };
        for (name, about) in &level.children {
            for at in &ats {
                let _ = writeln!(
                    s,
                    "complete -c awsideman -n {} -a {} -d {}",
                    fish_quote(at),
                    fish_quote(name),
                    fish_quote(about)
                );
            }
        }
    }
    for (path, c) in &commands {
        let at = fish_quote(&format!("__awsideman_at {path}"));
        for flag in c.flags {
            let _ = writeln!(s, "complete -c awsideman -n {at} {}", fish_flag(flag));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::test_table::GROUPS;
    use std::process::Command as Process;

    /// Every name of the table appears in each shell's script.
    #[test]
    fn every_name_appears_in_every_shell() {
        for shell in SHELLS {
            let script = render(GROUPS, shell).unwrap();
            for (path, c) in commands(GROUPS) {
                assert!(script.contains(&path), "{shell}: command {path}");
                {
                    assert!(script.contains(c.name), "{shell}: command {}", c.name);
                    for f in c.flags {
                        let needle = if *shell == "fish" {
                            format!("-l {}", f.long)
                        } else {
                            format!("--{}", f.long)
                        };
                        assert!(script.contains(&needle), "{shell}: flag --{}", f.long);
                        for choice in f.choices {
                            assert!(script.contains(choice), "{shell}: choice {choice}");
                        }
                    }
                }
            }
            for f in GLOBAL_FLAGS {
                let needle = if *shell == "fish" {
                    format!("-l {}", f.long)
                } else {
                    format!("--{}", f.long)
                };
                assert!(script.contains(&needle), "{shell}: global --{}", f.long);
                for choice in f.choices {
                    assert!(script.contains(choice), "{shell}: choice {choice}");
                }
            }
            assert_eq!(
                script,
                render(GROUPS, shell).unwrap(),
                "{shell}: deterministic"
            );
        }
    }

    #[test]
    fn unknown_shell_is_a_usage_error() {
        let e = render(GROUPS, "tcsh").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "unknown shell \"tcsh\" (allowed: bash, zsh, fish)"
        );
    }

    #[test]
    fn flag_specs() {
        let create = &GROUPS[0].commands[2];
        let zsh = zsh_flag_specs(create.flags).join("\n");
        assert!(
            zsh.contains("'--username=[The user name. (required)]:NAME: '"),
            "{zsh}"
        );
        assert!(zsh.contains("'-e+[Email address.]:EMAIL: '"), "{zsh}");
        assert!(
            zsh.contains("'*--tag=[A tag; repeat for more. (repeatable)]:KEY=VALUE: '"),
            "{zsh}"
        );
        assert!(zsh.contains(":STATUS:(active disabled)'"), "{zsh}");
        assert!(
            zsh.contains("'--input=[Read more attributes from a file.]:FILE:_files'"),
            "{zsh}"
        );
        assert!(
            zsh.contains("'--yes[Do not ask for confirmation.]'"),
            "{zsh}"
        );
        assert_eq!(
            fish_flag(&create.flags[4]),
            "-l status -x -a 'active disabled' -d 'Initial status. [choices: active, disabled]'"
        );
        assert_eq!(fish_quote("it's a\\b"), "'it\\'s a\\\\b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
    }

    /// Runs `shell` on `script` in syntax-check mode; `None` if the shell is not installed.
    fn syntax_check(shell: &str, script: &str) -> Option<std::process::Output> {
        let dir = std::env::temp_dir().join(format!("awsideman-complete-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let file = dir.join(format!("awsideman.{shell}"));
        std::fs::write(&file, script).ok()?;
        let output = Process::new(shell).arg("-n").arg(&file).output().ok();
        let _ = std::fs::remove_dir_all(&dir);
        output
    }

    #[test]
    fn scripts_parse_in_their_shell() {
        for shell in SHELLS {
            let script = render(GROUPS, shell).unwrap();
            match syntax_check(shell, &script) {
                None => eprintln!("{shell} not installed: skipped"),
                Some(out) => assert!(
                    out.status.success(),
                    "{shell} -n: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
    }

    /// Drives the bash function as bash would on TAB, if bash is installed.
    fn bash_complete(words: &[&str]) -> Option<Vec<String>> {
        let script = render(GROUPS, "bash").ok()?;
        let quoted: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
        let driver = format!(
            "{script}\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_awsideman\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            quoted.join(" "),
            words.len() - 1
        );
        let out = Process::new("bash").arg("-c").arg(driver).output().ok()?;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    #[test]
    fn bash_completes_each_level() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["awsideman", ""], &["help", "user", "group", "profile"]),
            (&["awsideman", "u"], &["user"]),
            (
                &["awsideman", "--profile", "x", "user", ""],
                &["list", "get", "create"],
            ),
            (
                &["awsideman", "--profile", "=", "x", "user", "c"],
                &["create"],
            ),
            (&["awsideman", "help", ""], &["user", "group", "profile"]),
            (&["awsideman", "help", "user", "l"], &["list"]),
            (&["awsideman", "user", "create", "--us"], &["--username"]),
            (
                &["awsideman", "user", "create", "--username", "x", "--st"],
                &["--status"],
            ),
            (
                &["awsideman", "user", "create", "--status", ""],
                &["active", "disabled"],
            ),
            (
                &["awsideman", "user", "create", "--status", "=", "d"],
                &["disabled"],
            ),
            (
                &["awsideman", "user", "create", "--status", "="],
                &["active", "disabled"],
            ),
            (&["awsideman", "-o", "j"], &["json"]),
            (
                &["awsideman", "user", "list", "--output", ""],
                &["table", "json", "text", "csv"],
            ),
            (&["awsideman", "user", "list", "--prof"], &["--profile"]),
            (&["awsideman", "user", "create", "--username", ""], &[]),
            (&["awsideman", "profile", "add", "--reg"], &["--region"]),
            (&["awsideman", "profile", "add", "--region", ""], &[]),
            (&["awsideman", "profile", ""], &["add", "keys"]),
            (&["awsideman", "profile", "keys", ""], &["rotate"]),
            (
                &["awsideman", "-p", "x", "profile", "keys", "r"],
                &["rotate"],
            ),
            (&["awsideman", "help", "profile", "keys", ""], &["rotate"]),
            (
                &["awsideman", "profile", "keys", "rotate", "--so"],
                &["--source"],
            ),
            (
                &["awsideman", "profile", "keys", "rotate", "--source", ""],
                &["file", "kms"],
            ),
            (&["awsideman", "profile", "keys", "rotate", ""], &[]),
        ];
        for (words, want) in cases {
            let Some(got) = bash_complete(words) else {
                eprintln!("bash not installed: skipped");
                return;
            };
            assert_eq!(got, *want, "{words:?}");
        }
    }
}
