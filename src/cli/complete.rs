//! Shell completion scripts for bash, zsh and fish, generated from the command table.
//!
//! Each script completes the group, then the command, then the flags (the command's and the
//! global ones) and the choices of a flag's value. Values of flags whose value name mentions a
//! file, path or directory complete as file names; other free values complete to nothing.

use std::fmt::Write;

use serde_json::json;

use crate::cli::help::unshadowed_globals;
use crate::cli::spec::GLOBAL_FLAGS;
use crate::cli::spec::{Command, Flag, Group};
use crate::cli::table::GROUPS;
use crate::commands::Context;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::Report;

/// The shells [`render`] knows.
pub const SHELLS: &[&str] = &["bash", "zsh", "fish"];

/// The description of the `help` word in completions.
const HELP_ABOUT: &str = "Show help for a group or command";

/// `completion SHELL`: the script of the whole command table, as a report.
fn script(shell: &str) -> Result<Report> {
    let text = render(GROUPS, shell)?;
    Ok(Report::message(
        json!({"shell": shell, "script": text}),
        text.trim_end(),
    ))
}

/// `completion bash`.
pub fn run_bash(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("bash")
}

/// `completion zsh`.
pub fn run_zsh(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("zsh")
}

/// `completion fish`.
pub fn run_fish(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("fish")
}

/// The completion script for `shell` (`bash`, `zsh` or `fish`).
pub fn render(groups: &[Group], shell: &str) -> Result<String> {
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

/// Every (group, command) pair, in table order.
fn commands(groups: &[Group]) -> impl Iterator<Item = (&Group, &Command)> {
    groups
        .iter()
        .flat_map(|g| g.commands.iter().map(move |c| (g, c)))
}

/// The bash script: a `complete -F` function.
fn bash(groups: &[Group]) -> String {
    let group_names: Vec<&str> = std::iter::once("help")
        .chain(groups.iter().map(|g| g.name))
        .collect();
    let mut s = String::new();
    s.push_str("# bash completion for awsideman, generated from its command table.\n\n");

    s.push_str("# The commands of group $1.\n_awsideman_commands() {\n    case \"$1\" in\n");
    for g in groups {
        let names: Vec<&str> = g.commands.iter().map(|c| c.name).collect();
        let _ = writeln!(
            s,
            "        {}) echo {} ;;",
            sh_quote(g.name),
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

    s.push_str("    # The words before the cursor that are not flags or flag values.\n");
    let _ = writeln!(
        s,
        "    local takes_value={}",
        sh_quote(&format!(" {} ", value_spellings(GLOBAL_FLAGS)))
    );
    s.push_str("    local -a seen=()\n    local i word\n");
    s.push_str("    for ((i = 1; i < COMP_CWORD; i++)); do\n");
    s.push_str("        word=${COMP_WORDS[i]}\n");
    s.push_str("        if [[ $word == -- ]]; then\n            continue\n");
    s.push_str("        elif [[ $takes_value == *\" $word \"* ]]; then\n");
    s.push_str(
        "            if [[ ${COMP_WORDS[i+1]} == = ]]; then ((i += 2)); else ((i += 1)); fi\n",
    );
    s.push_str("        elif [[ $word == = ]]; then\n            ((i += 1))\n");
    s.push_str("        elif [[ $word != -* ]]; then\n            seen+=(\"$word\")\n");
    s.push_str("            if ((${#seen[@]} == 2)); then\n");
    s.push_str("                case \"${seen[0]} ${seen[1]}\" in\n");
    for (g, c) in commands(groups) {
        let values = value_spellings(c.flags);
        if !values.is_empty() {
            let _ = writeln!(
                s,
                "                    {}) takes_value+={} ;;",
                sh_quote(&format!("{} {}", g.name, c.name)),
                sh_quote(&format!("{values} "))
            );
        }
    }
    s.push_str("                esac\n            fi\n        fi\n    done\n");
    s.push_str("    local group=${seen[0]-} command=${seen[1]-}\n\n");

    s.push_str("    # The value of a flag: the command's, else a global one.\n");
    s.push_str("    case \"$group $command $prev\" in\n");
    for (g, c) in commands(groups) {
        push_bash_values(&mut s, &format!("{} {} ", g.name, c.name), c.flags);
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
    s.push_str("        case \"$group $command\" in\n");
    for (g, c) in commands(groups) {
        let longs: Vec<String> = c.flags.iter().map(|f| format!("--{}", f.long)).collect();
        let pattern = sh_quote(&format!("{} {}", g.name, c.name));
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
    s.push_str("    elif [[ -z $group ]]; then\n");
    let _ = writeln!(
        s,
        "        COMPREPLY=($(compgen -W {} -- \"$cur\"))",
        sh_quote(&group_names.join(" "))
    );
    s.push_str("    elif [[ $group == help && -z $command ]]; then\n");
    let _ = writeln!(
        s,
        "        COMPREPLY=($(compgen -W {} -- \"$cur\"))",
        sh_quote(&group_names[1..].join(" "))
    );
    s.push_str("    elif [[ $group == help && ${#seen[@]} == 2 ]]; then\n");
    s.push_str(
        "        COMPREPLY=($(compgen -W \"$(_awsideman_commands \"$command\")\" -- \"$cur\"))\n",
    );
    s.push_str("    elif [[ -z $command ]]; then\n");
    s.push_str(
        "        COMPREPLY=($(compgen -W \"$(_awsideman_commands \"$group\")\" -- \"$cur\"))\n",
    );
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
fn zsh(groups: &[Group]) -> String {
    let mut s = String::new();
    s.push_str("#compdef awsideman\n\n");
    s.push_str("# zsh completion for awsideman, generated from its command table.\n\n");

    s.push_str("# The groups, after the entries given as arguments.\n");
    s.push_str("_awsideman_groups() {\n    local -a groups\n    groups=(\n        \"$@\"\n");
    for g in groups {
        let _ = writeln!(
            s,
            "        {}",
            sh_quote(&format!("{}:{}", zsh_colon(g.name), zsh_colon(g.about)))
        );
    }
    s.push_str("    )\n    _describe -t groups 'command group' groups\n}\n\n");

    s.push_str("_awsideman_commands() {\n    local -a commands\n    case $1 in\n");
    for g in groups {
        let _ = writeln!(s, "        {})\n            commands=(", sh_quote(g.name));
        for c in g.commands {
            let _ = writeln!(
                s,
                "                {}",
                sh_quote(&format!("{}:{}", zsh_colon(c.name), zsh_colon(c.about)))
            );
        }
        s.push_str("            )\n            ;;\n");
    }
    s.push_str("    esac\n    _describe -t commands 'command' commands\n}\n\n");

    s.push_str("_awsideman() {\n    local -a globals seen\n    globals=(\n");
    for spec in zsh_flag_specs(GLOBAL_FLAGS) {
        let _ = writeln!(s, "        {spec}");
    }
    s.push_str("    )\n");
    s.push_str("    # The words before the cursor that are not flags or flag values.\n");
    s.push_str("    local i=2 word\n    while (( i < CURRENT )); do\n        word=$words[i]\n");
    s.push_str("        case $word in\n");
    let global_values: Vec<String> = GLOBAL_FLAGS
        .iter()
        .filter(|f| f.value.is_some())
        .flat_map(spellings)
        .map(|n| sh_quote(&n))
        .collect();
    let _ = writeln!(s, "            {}) (( i++ )) ;;", global_values.join("|"));
    s.push_str("            -*) ;;\n            *) seen+=(\"$word\") ;;\n        esac\n");
    s.push_str("        (( i++ ))\n");
    s.push_str("        if (( $#seen == 2 )) && [[ $seen[1] != help ]]; then break; fi\n");
    s.push_str("    done\n\n");

    s.push_str(
        "    # The value of a global flag before the command (after it, _arguments knows).\n",
    );
    s.push_str("    if (( $#seen < 2 )); then\n    case $words[CURRENT-1] in\n");
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
    s.push_str("    if [[ $seen[1] == help ]]; then\n");
    s.push_str("        case $#seen in\n            1) _awsideman_groups ;;\n");
    s.push_str("            2) _awsideman_commands $seen[2] ;;\n        esac\n");
    s.push_str("    elif (( $#seen < 2 )) && [[ $words[CURRENT] == -* ]]; then\n");
    s.push_str("        words=(awsideman \"$words[CURRENT]\")\n        CURRENT=2\n");
    s.push_str("        _arguments -s : $globals\n");
    let _ = writeln!(
        s,
        "    elif (( $#seen == 0 )); then\n        _awsideman_groups {}",
        sh_quote(&format!("help:{}", zsh_colon(HELP_ABOUT)))
    );
    s.push_str("    elif (( $#seen == 1 )); then\n        _awsideman_commands $seen[1]\n");
    s.push_str("    else\n");
    s.push_str("        # Complete from the command word on, as if it were the program.\n");
    s.push_str("        words=(\"${(@)words[i-1,-1]}\")\n        (( CURRENT -= i - 2 ))\n");
    s.push_str("        case \"$seen[1] $seen[2]\" in\n");
    for (g, c) in commands(groups) {
        let _ = writeln!(
            s,
            "            {})",
            sh_quote(&format!("{} {}", g.name, c.name))
        );
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
fn fish(groups: &[Group]) -> String {
    let mut s = String::new();
    s.push_str("# fish completion for awsideman, generated from its command table.\n\n");
    s.push_str("# The group and command typed so far (three words after 'help').\n");
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
    s.push_str("            set -a seen $token\n        end\n");
    s.push_str("        if test (count $seen) -ge 3; or begin; test (count $seen) -ge 2; and test \"$seen[1]\" != help; end\n");
    s.push_str("            break\n        end\n    end\n");
    s.push_str("    string join ' ' -- $seen\nend\n\n");
    s.push_str("# Whether the words typed so far are exactly $argv.\n");
    s.push_str("function __awsideman_at\n    set -l seen (__awsideman_path)\n    test \"$seen\" = \"$argv\"\nend\n\n");

    s.push_str("complete -c awsideman -f\n");
    for flag in GLOBAL_FLAGS {
        let shadowing: Vec<String> = commands(groups)
            .filter(|(_, c)| c.flags.iter().any(|f| f.long == flag.long))
            .map(|(g, c)| format!("not __awsideman_at {} {}", g.name, c.name))
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
    for g in groups {
        for at in ["__awsideman_at", "__awsideman_at help"] {
            let _ = writeln!(
                s,
                "complete -c awsideman -n '{at}' -a {} -d {}",
                fish_quote(g.name),
                fish_quote(g.about)
            );
        }
    }
    for g in groups {
        for c in g.commands {
            for at in [
                format!("__awsideman_at {}", g.name),
                format!("__awsideman_at help {}", g.name),
            ] {
                let _ = writeln!(
                    s,
                    "complete -c awsideman -n {} -a {} -d {}",
                    fish_quote(&at),
                    fish_quote(c.name),
                    fish_quote(c.about)
                );
            }
        }
    }
    for (g, c) in commands(groups) {
        let at = fish_quote(&format!("__awsideman_at {} {}", g.name, c.name));
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
            for g in GROUPS {
                assert!(script.contains(g.name), "{shell}: group {}", g.name);
                for c in g.commands {
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
        let _ = std::fs::remove_file(&file);
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
                &["table", "json", "text"],
            ),
            (&["awsideman", "user", "list", "--prof"], &["--profile"]),
            (&["awsideman", "user", "create", "--username", ""], &[]),
            (&["awsideman", "profile", "add", "--re"], &["--region"]),
            (&["awsideman", "profile", "add", "--region", ""], &[]),
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
