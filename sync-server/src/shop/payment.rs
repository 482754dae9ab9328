//! The payment provider the checkout charges through: an interface a real
//! provider (Stripe, Adyen) plugs into, and the test provider that moves
//! no money.
//!
//! The checkout stores its idempotency key before it asks, and sends the
//! same key on every try; a provider must answer a key it has seen with the
//! answer it gave (as real ones do), so a retried or doubled submit is one
//! charge (Medusa's double captures came from a new key on each retry).

use std::{collections::HashMap, sync::Mutex};

use futures::future::BoxFuture;
use model::Money;

/// What is asked of the provider.
#[derive(Debug, Clone)]
pub struct Charge<'a> {
    /// The checkout's idempotency key.
    pub key: &'a str,
    pub amount: Money,
    /// The card number as typed (spaces removed); never stored here.
    pub card: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Captured: the provider's reference of the payment.
    Paid(String),
    /// Refused, with the reason a buyer reads.
    Declined(String),
}

#[derive(Debug, thiserror::Error)]
#[error("the payment service did not answer: {0}")]
pub struct Unavailable(pub String);

pub trait PaymentProvider: Send + Sync {
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, Unavailable>>;
}

/// The test provider: the card numbers test providers document, no money.
///
/// | 4242 4242 4242 4242 | paid |
/// | 4000 0000 0000 0002 | declined |
/// | 4000 0000 0000 9995 | declined: insufficient funds |
/// | 4000 0000 0000 0119 | the service does not answer (nothing charged) |
#[derive(Default)]
pub struct TestProvider {
    answered: Mutex<HashMap<String, Outcome>>,
}

impl TestProvider {
    /// How many distinct charges it captured.
    pub fn captured(&self) -> usize {
        crate::lock(&self.answered)
            .values()
            .filter(|o| matches!(o, Outcome::Paid(_)))
            .count()
    }
}

impl PaymentProvider for TestProvider {
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, Unavailable>> {
        Box::pin(async move {
            let mut answered = crate::lock(&self.answered);
            if let Some(outcome) = answered.get(charge.key) {
                return Ok(outcome.clone());
            }
            let outcome = match charge.card {
                "4242424242424242" => {
                    Outcome::Paid(format!("test_{}", &charge.key[..16.min(charge.key.len())]))
                }
                "4000000000000002" => Outcome::Declined("The card was declined.".to_owned()),
                "4000000000009995" => {
                    Outcome::Declined("The card was declined: insufficient funds.".to_owned())
                }
                "4000000000000119" => {
                    return Err(Unavailable("the test provider's outage card".to_owned()));
                }
                _ => Outcome::Declined(
                    "This is a test shop: pay with the test card 4242 4242 4242 4242.".to_owned(),
                ),
            };
            answered.insert(charge.key.to_owned(), outcome.clone());
            Ok(outcome)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::Currency;

    #[tokio::test]
    async fn a_key_is_answered_once_and_alike() {
        let provider = TestProvider::default();
        let amount = Money::new(4_900, Currency::parse("USD").unwrap());
        let charge = |key, card| Charge { key, amount, card };
        let first = provider
            .charge(charge("k1", "4242424242424242"))
            .await
            .unwrap();
        let again = provider
            .charge(charge("k1", "4000000000000002"))
            .await
            .unwrap();
        assert_eq!(first, again, "the key's first answer stands");
        assert_eq!(provider.captured(), 1);
        assert!(matches!(
            provider
                .charge(charge("k2", "4000000000000002"))
                .await
                .unwrap(),
            Outcome::Declined(_)
        ));
        assert!(
            provider
                .charge(charge("k3", "4000000000000119"))
                .await
                .is_err()
        );
        assert_eq!(provider.captured(), 1);
    }
}
