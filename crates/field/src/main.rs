//! `portal-field`: see the crate's docs and `portal-field --help`.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use model::{LeadDraft, LeadId, LogKind, Money, NumberFormat, PipelineEdit, Stage};
use portal_field::{
    engine::Field,
    local::{self, LeadLine},
    session::Home,
};

/// The partner's field client: your pipeline and earnings in a local
/// store, usable for days with no network; `sync` when there is one.
#[derive(Parser)]
#[command(name = "portal-field", version)]
struct Cli {
    /// Where the session and the local store live (default: the OS's
    /// config and data directories).
    #[arg(long, global = true, env = "PORTAL_FIELD_HOME")]
    home: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in and keep the session (readable by you only).
    SignIn {
        /// The portal's address, e.g. https://portal.example.com
        #[arg(long)]
        server: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line) rather than
        /// asking for it.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget the session; the local store stays.
    SignOut,
    /// List your leads, or show one.
    Leads {
        /// A lead's id: show that one.
        id: Option<String>,
        /// Only leads in this stage (new, contacted, qualified, proposal,
        /// won, lost).
        #[arg(long)]
        stage: Option<String>,
        /// Archived leads too.
        #[arg(long)]
        archived: bool,
    },
    /// Add, move or annotate a lead.
    Lead {
        #[command(subcommand)]
        action: LeadAction,
    },
    /// Your open follow-ups, soonest first.
    FollowUps,
    /// Your earnings, from the last account view synced.
    Earnings,
    /// Exchange changes with the server.
    Sync {
        /// Stay connected, reconnecting when the network comes back.
        #[arg(long)]
        watch: bool,
    },
    /// Changes waiting to go out, and the last sync.
    Status,
}

#[derive(Subcommand)]
enum LeadAction {
    /// Add a lead.
    Add {
        /// The contact's name.
        name: String,
        #[arg(long, default_value = "")]
        company: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "")]
        phone: String,
        /// The deal's value as you would write it, e.g. "1,250.00".
        #[arg(long, default_value = "0")]
        value: String,
        /// Its currency (ISO 4217).
        #[arg(long, default_value = "USD")]
        currency: String,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Move a lead to a stage.
    Move { id: String, stage: String },
    /// Log a note on a lead.
    Note { id: String, text: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("portal-field: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("portal-field: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The number format of the user's language (`LC_ALL`, `LC_NUMERIC`,
/// `LANG`: `de_DE.UTF-8` reads as `de-DE`).
fn number_format() -> NumberFormat {
    let tag = ["LC_ALL", "LC_NUMERIC", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.is_empty() && v != "C" && v != "POSIX")
        .unwrap_or_else(|| "en".into());
    let tag = tag.split('.').next().unwrap_or("en").replace('_', "-");
    NumberFormat::for_language(&tag)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let home = Home::new(cli.home)?;
    let format = number_format();
    match cli.command {
        Command::SignIn {
            server,
            email,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            // The device half of the peer id: this installation's, kept
            // across sign-ins.
            let device = home
                .load()
                .map(|s| s.device)
                .unwrap_or_else(|_| format!("field-{}", uuid::Uuid::new_v4().simple()));
            let session = portal_field::sign_in::sign_in(&server, &email, password, device).await?;
            home.save(&session)?;
            println!(
                "signed in as {} until {}; run `portal-field sync` to fetch your pipeline",
                session.name,
                when(&session.expires_at)
            );
        }
        Command::SignOut => {
            home.forget()?;
            println!("signed out; your local store is kept");
        }
        Command::Leads {
            id,
            stage,
            archived,
        } => {
            let field = Field::open(&home)?;
            let owner = field.owner()?;
            if let Some(stage) = &stage {
                Stage::parse(stage)?;
            }
            match id {
                Some(id) => {
                    let lead = field
                        .store
                        .call(move |c| local::lead(c, &owner, &id))
                        .await??
                        .ok_or_else(|| anyhow::anyhow!("no such lead here"))?;
                    if cli.json {
                        println!("{}", serde_json::to_string_pretty(&lead)?);
                    } else {
                        show_lead(&lead, format);
                    }
                }
                None => {
                    let leads = field
                        .store
                        .call(move |c| local::list_leads(c, &owner, stage.as_deref(), archived))
                        .await??;
                    print_leads(&leads, cli.json, format)?;
                }
            }
        }
        Command::Lead { action } => {
            let field = Field::open(&home)?;
            let (edit, said) = match action {
                LeadAction::Add {
                    name,
                    company,
                    email,
                    phone,
                    value,
                    currency,
                    notes,
                } => {
                    let currency = model::Currency::parse(&currency.to_uppercase())?;
                    let value = Money::parse_in(&value, currency, format)?;
                    let draft = LeadDraft::parse(&name, &company, &email, &phone, value, &notes)?;
                    let id = LeadId::parse(&uuid::Uuid::new_v4().simple().to_string())?;
                    let said = format!("added lead {id}");
                    (PipelineEdit::AddLead { id, draft }, said)
                }
                LeadAction::Move { id, stage } => {
                    let to = Stage::parse(&stage)?;
                    let id = LeadId::parse(&id)?;
                    let said = format!("moved lead {id} to {}", to.as_str());
                    (PipelineEdit::Move { id, to }, said)
                }
                LeadAction::Note { id, text } => {
                    let id = LeadId::parse(&id)?;
                    let said = format!("noted on lead {id}");
                    let at = model::Timestamp(chrono::Utc::now().timestamp_millis());
                    let kind = LogKind::Note;
                    (PipelineEdit::Log { id, kind, text, at }, said)
                }
            };
            field.edit(edit).await?;
            println!("{said} (kept here; it goes out at the next sync)");
        }
        Command::FollowUps => {
            let field = Field::open(&home)?;
            let owner = field.owner()?;
            let due = field
                .store
                .call(move |c| local::follow_ups(c, &owner))
                .await??;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&due)?);
            } else if due.is_empty() {
                println!("no open follow-ups");
            } else {
                table(
                    &["when", "lead", "contact", "note"],
                    due.iter().map(|l| {
                        vec![
                            l.follow_up_at.as_deref().map(when).unwrap_or_default(),
                            l.lead_id.clone(),
                            l.contact_name.clone(),
                            l.follow_up_note.clone().unwrap_or_default(),
                        ]
                    }),
                );
            }
        }
        Command::Earnings => {
            let field = Field::open(&home)?;
            let view = field.account_view().await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "tier": view.tier,
                        "computed_at": view.computed_at.0,
                        "balances": view.balances,
                    }))?
                );
            } else {
                println!("tier: {}", view.tier);
                if view.balances.is_empty() {
                    println!("no earnings yet");
                    return Ok(());
                }
                let money = |minor, currency| Money::new(minor, currency).format_grouped_in(format);
                table(
                    &["currency", "pending", "available", "paid"],
                    view.balances.iter().map(|b| {
                        vec![
                            b.currency.as_str().to_owned(),
                            money(b.pending_minor, b.currency),
                            money(b.available_minor, b.currency),
                            money(b.paid_minor, b.currency),
                        ]
                    }),
                );
            }
        }
        Command::Sync { watch } => {
            let field = Field::open(&home)?;
            let progress = |line: &str| eprintln!("  {line}");
            let synced = field.sync(watch, progress).await?;
            if cli.json {
                println!("{}", serde_json::to_string(&synced)?);
            } else {
                println!(
                    "in sync: {} document(s), {} change(s) sent",
                    synced.documents, synced.sent
                );
            }
        }
        Command::Status => {
            let field = Field::open(&home)?;
            let status = field.status().await?;
            if cli.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                println!(
                    "{} on {} (session until {})",
                    status.account,
                    status.server,
                    when(&status.session_expires_at)
                );
                table(
                    &["document", "kept here", "changes waiting", "last sync"],
                    status.documents.iter().map(|d| {
                        vec![
                            d.kind.to_owned(),
                            if d.held { "yes" } else { "no" }.to_owned(),
                            d.changes_waiting.to_string(),
                            d.last_sync.as_deref().map_or_else(|| "never".into(), when),
                        ]
                    }),
                );
            }
        }
    }
    Ok(())
}

/// The password: a line of standard input with `--password-stdin` (or when
/// it is not a terminal), else typed at a prompt that does not echo it.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let password = if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        rpassword::prompt_password("password: ")?
    };
    anyhow::ensure!(!password.is_empty(), "no password given");
    Ok(password)
}

fn print_leads(leads: &[LeadLine], json: bool, format: NumberFormat) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(leads)?);
        return Ok(());
    }
    if leads.is_empty() {
        println!("no leads");
        return Ok(());
    }
    table(
        &["id", "stage", "contact", "company", "value", "updated"],
        leads.iter().map(|l| {
            vec![
                l.lead_id.clone(),
                l.stage.clone(),
                l.contact_name.clone(),
                l.company.clone(),
                value(l, format),
                when(&l.updated_at),
            ]
        }),
    );
    Ok(())
}

fn value(lead: &LeadLine, format: NumberFormat) -> String {
    match model::Currency::parse(&lead.currency) {
        Ok(currency) => format!(
            "{} {}",
            Money::new(lead.value_minor, currency).format_grouped_in(format),
            lead.currency
        ),
        Err(_) => format!("{} {}", lead.value_minor, lead.currency),
    }
}

fn show_lead(lead: &LeadLine, format: NumberFormat) {
    let rows = [
        ("id", lead.lead_id.clone()),
        ("stage", lead.stage.clone()),
        ("contact", lead.contact_name.clone()),
        ("company", lead.company.clone()),
        ("email", lead.email.clone()),
        ("phone", lead.phone.clone()),
        ("value", value(lead, format)),
        ("created", when(&lead.created_at)),
        ("updated", when(&lead.updated_at)),
        (
            "follow-up",
            match (&lead.follow_up_at, &lead.follow_up_note) {
                (Some(at), note) => format!("{} {}", when(at), note.as_deref().unwrap_or("")),
                _ => String::new(),
            },
        ),
        (
            "archived",
            lead.archived_at.as_deref().map(when).unwrap_or_default(),
        ),
        ("notes", lead.notes.clone()),
    ];
    for (label, value) in rows {
        if !value.is_empty() {
            println!("{label:>10}  {}", portal_field::shown(&value, 10_000));
        }
    }
}

/// A time as a person reads it: in this machine's time zone, to the
/// minute (`--json` keeps the exact UTC time). Text that is no time is
/// shown as it is.
fn when(at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(at) {
        Ok(at) => at
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => at.to_owned(),
    }
}

/// A plain table: columns as wide as their widest cell (in characters),
/// control characters shown as spaces so a lead's text cannot move the
/// cursor.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let clean = |s: &str| portal_field::shown(s, 60);
    let rows: Vec<Vec<String>> = rows.map(|r| r.iter().map(|c| clean(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        line(row);
    }
}
