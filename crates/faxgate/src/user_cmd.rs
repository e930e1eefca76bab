//! `faxgate user add|list|show|set|remove`: the users of the gateway, on the
//! configured store. Every change is recorded in the audit log.

use anyhow::Context;
use fax_queue::{
    DestinationKind, EmailAddress, FaxId, Locale, NewUser, Permissions, PinHash, User, UserChanges,
    UserKey,
};
use serde_json::Value;

use crate::queue_cmd::{
    StoreArgs, actor, block_on, now, print_json, random_salt, read_pin_from_stdin, user_json,
};

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user. The server issues a fax ID (AF and eight digits) unless --fax-id is
    /// given.
    Add {
        /// The name shown on receipts and cover pages.
        #[arg(long)]
        name: String,
        /// An address the user mails from (repeat for several; the first gets receipts).
        #[arg(long = "email", value_name = "ADDRESS", required = true)]
        emails: Vec<EmailAddress>,
        /// What the user may do: a comma-separated list of email, web, api, admin.
        #[arg(long, default_value = "email")]
        permissions: Permissions,
        /// How far the user may fax: internal, local, national or international.
        #[arg(long, value_name = "KIND", default_value = "national")]
        max_destination: DestinationKind,
        /// The user's language: zh or en.
        #[arg(long, default_value = "zh")]
        locale: Locale,
        /// A fax ID to give the user instead of an issued one.
        #[arg(long, value_name = "ID")]
        fax_id: Option<FaxId>,
        /// Read a PIN (4 to 12 digits) from the first line of standard input.
        #[arg(long)]
        pin_stdin: bool,
    },
    /// List every user.
    List,
    /// Show one user, named by id, address or fax ID.
    Show {
        /// The user.
        user: UserKey,
    },
    /// Change a user; options left out keep their value.
    Set {
        /// The user (id, address or fax ID).
        user: UserKey,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Replace the addresses (repeat for several).
        #[arg(long = "email", value_name = "ADDRESS")]
        emails: Vec<EmailAddress>,
        /// New permissions (comma-separated list of email, web, api, admin; "none").
        #[arg(long)]
        permissions: Option<Permissions>,
        /// A new destination limit.
        #[arg(long, value_name = "KIND")]
        max_destination: Option<DestinationKind>,
        /// A new language.
        #[arg(long)]
        locale: Option<Locale>,
        /// Read a new PIN from the first line of standard input.
        #[arg(long, conflicts_with = "no_pin")]
        pin_stdin: bool,
        /// Remove the PIN.
        #[arg(long)]
        no_pin: bool,
    },
    /// Remove a user. Their faxes stay in the log, without an owner.
    Remove {
        /// The user (id, address or fax ID).
        user: UserKey,
    },
}

fn print_user(user: &User) {
    println!("user {}  {}  {}", user.id, user.fax_id, user.display_name);
    let emails: Vec<&str> = user.emails.iter().map(EmailAddress::as_str).collect();
    println!("  emails:          {}", emails.join(", "));
    println!("  permissions:     {}", user.permissions);
    println!("  max destination: {}", user.max_destination);
    println!("  locale:          {}", user.locale);
    println!(
        "  pin:             {}",
        if user.pin.is_some() { "set" } else { "none" }
    );
}

fn new_pin_hash() -> anyhow::Result<PinHash> {
    let pin = read_pin_from_stdin()?;
    Ok(PinHash::new(&pin, &random_salt()?)?)
}

/// Runs a `user` subcommand.
pub fn run(command: UserCommand, store_args: &StoreArgs) -> anyhow::Result<bool> {
    let settings = store_args.settings()?;
    let json = store_args.json;
    block_on(async move {
        let store = settings.open().await?;
        match command {
            UserCommand::Add {
                name,
                emails,
                permissions,
                max_destination,
                locale,
                fax_id,
                pin_stdin,
            } => {
                let pin = if pin_stdin {
                    Some(new_pin_hash()?)
                } else {
                    None
                };
                let new = NewUser {
                    display_name: name,
                    emails,
                    permissions,
                    max_destination,
                    fax_id,
                    locale,
                    pin,
                };
                let user = store
                    .add_user(&new, &actor(), now())
                    .await
                    .context("adding the user")?;
                if json {
                    print_json(&user_json(&user))?;
                } else {
                    print_user(&user);
                }
            }
            UserCommand::List => {
                let users = store.users().await.context("listing users")?;
                if json {
                    print_json(&Value::Array(users.iter().map(user_json).collect()))?;
                } else {
                    for user in &users {
                        let first = user.emails.first().map(EmailAddress::as_str);
                        println!(
                            "{:>6}  {}  {:<30}  {}",
                            user.id,
                            user.fax_id,
                            first.unwrap_or(""),
                            user.display_name
                        );
                    }
                }
            }
            UserCommand::Show { user } => {
                let user = store.user(&user).await?;
                if json {
                    print_json(&user_json(&user))?;
                } else {
                    print_user(&user);
                }
            }
            UserCommand::Set {
                user,
                name,
                emails,
                permissions,
                max_destination,
                locale,
                pin_stdin,
                no_pin,
            } => {
                let id = store.user(&user).await?.id;
                let pin = if pin_stdin {
                    Some(Some(new_pin_hash()?))
                } else if no_pin {
                    Some(None)
                } else {
                    None
                };
                let changes = UserChanges {
                    display_name: name,
                    emails: (!emails.is_empty()).then_some(emails),
                    permissions,
                    max_destination,
                    locale,
                    pin,
                };
                let user = store
                    .update_user(id, &changes, &actor(), now())
                    .await
                    .context("changing the user")?;
                if json {
                    print_json(&user_json(&user))?;
                } else {
                    print_user(&user);
                }
            }
            UserCommand::Remove { user } => {
                let id = store.user(&user).await?.id;
                let removed = store
                    .remove_user(id, &actor(), now())
                    .await
                    .context("removing the user")?;
                if json {
                    print_json(&user_json(&removed))?;
                } else {
                    println!("removed user {} ({})", removed.id, removed.fax_id);
                }
            }
        }
        store.close().await;
        Ok(true)
    })
}
