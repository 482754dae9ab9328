//! Ranking a leaderboard: one rule, written once, for the server to rank
//! with (the devices only show ranks, never compute them).
//!
//! Higher scores rank first. Two partners with the same score are ordered
//! by who reached it first (`reached_at`, the instant of the event that
//! made their score what it is): getting there sooner is the tie-break.
//! Two with the same score reached at the same instant share a rank, and
//! the next rank skips as many places as shared it ("1, 2, 2, 4": standard
//! competition ranking), so no two partners show different ranks for the
//! same result and no rank is ever given twice for different results.
//! Partners with a score of zero are not ranked. Within a shared rank the
//! order shown is by partner id, so a board reads the same every time.

/// A partner's score on one board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub partner: String,
    pub score: i64,
    /// Milliseconds since the epoch.
    pub reached_at: i64,
}

/// A ranked entry: 1 is first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub rank: u32,
    pub score: Score,
}

/// Ranks `scores` (any order; a partner listed once).
pub fn rank(mut scores: Vec<Score>) -> Vec<Ranked> {
    scores.retain(|s| s.score > 0);
    scores.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.reached_at.cmp(&b.reached_at))
            .then(a.partner.cmp(&b.partner))
    });
    let mut ranked: Vec<Ranked> = Vec::with_capacity(scores.len());
    for (place, score) in scores.into_iter().enumerate() {
        let rank = match ranked.last() {
            Some(prev)
                if prev.score.score == score.score && prev.score.reached_at == score.reached_at =>
            {
                prev.rank
            }
            _ => u32::try_from(place + 1).unwrap_or(u32::MAX),
        };
        ranked.push(Ranked { rank, score });
    }
    ranked
}

/// The share of ranked partners at or below `rank`'s place, in whole
/// percent: the first of 200 is in the top 1%, the last at 100%.
pub fn top_percent(rank: u32, ranked: usize) -> u32 {
    if ranked == 0 {
        return 100;
    }
    let ranked = u64::try_from(ranked).unwrap_or(u64::MAX);
    let percent = (u64::from(rank) * 100).div_ceil(ranked);
    u32::try_from(percent.clamp(1, 100)).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(partner: &str, score: i64, reached_at: i64) -> Score {
        Score {
            partner: partner.into(),
            score,
            reached_at,
        }
    }

    fn ranks(scores: Vec<Score>) -> Vec<(String, u32)> {
        rank(scores)
            .into_iter()
            .map(|r| (r.score.partner, r.rank))
            .collect()
    }

    #[test]
    fn ties_go_to_who_got_there_first_then_share_a_rank() {
        let got = ranks(vec![
            s("p-d", 3, 50),
            s("p-a", 5, 20),
            s("p-c", 3, 10),
            s("p-b", 5, 10),
            s("p-e", 3, 50),
            s("p-f", 1, 5),
            s("p-z", 0, 1),
        ]);
        assert_eq!(
            got,
            [
                ("p-b".into(), 1),
                ("p-a".into(), 2),
                ("p-c".into(), 3),
                // Same score, same instant: one rank, shown by id.
                ("p-d".into(), 4),
                ("p-e".into(), 4),
                // The next rank skips the place shared.
                ("p-f".into(), 6),
            ]
        );
    }

    #[test]
    fn ranking_does_not_depend_on_the_order_scores_come_in() {
        let scores = vec![
            s("p-a", 2, 1),
            s("p-b", 2, 1),
            s("p-c", 7, 3),
            s("p-d", 2, 0),
        ];
        let mut reversed = scores.clone();
        reversed.reverse();
        assert_eq!(rank(scores), rank(reversed));
    }

    #[test]
    fn top_percent_rounds_towards_the_end() {
        assert_eq!(top_percent(1, 200), 1);
        assert_eq!(top_percent(3, 200), 2);
        assert_eq!(top_percent(200, 200), 100);
        assert_eq!(top_percent(1, 1), 100);
        assert_eq!(top_percent(1, 0), 100);
    }
}
