//! A lesson's formatted text, drawn as elements (never as HTML: an
//! author's text cannot script the page): paragraphs separated by a blank
//! line, `# ` a heading, `- ` a list item, `**strong**` inside a line.

use yew::prelude::*;

/// One block of a lesson's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    List(Vec<String>),
}

/// The blocks of `text`.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, list: &mut Vec<String>, blocks: &mut Vec<Block>| {
        if !paragraph.is_empty() {
            blocks.push(Block::Paragraph(paragraph.join(" ")));
            paragraph.clear();
        }
        if !list.is_empty() {
            blocks.push(Block::List(std::mem::take(list)));
        }
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            flush(&mut paragraph, &mut list, &mut blocks);
        } else if let Some(heading) = line.strip_prefix("# ") {
            flush(&mut paragraph, &mut list, &mut blocks);
            blocks.push(Block::Heading(heading.trim().to_owned()));
        } else if let Some(item) = line.strip_prefix("- ") {
            if !paragraph.is_empty() {
                blocks.push(Block::Paragraph(paragraph.join(" ")));
                paragraph.clear();
            }
            list.push(item.trim().to_owned());
        } else {
            if !list.is_empty() {
                blocks.push(Block::List(std::mem::take(&mut list)));
            }
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut list, &mut blocks);
    blocks
}

/// Runs of a line: plain, or strong (between `**`s). An unmatched `**`
/// stays as typed.
pub fn runs(line: &str) -> Vec<(bool, String)> {
    let parts: Vec<&str> = line.split("**").collect();
    if parts.len().is_multiple_of(2) {
        return vec![(false, line.to_owned())];
    }
    parts
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| (i % 2 == 1, (*p).to_owned()))
        .collect()
}

fn inline(line: &str) -> Html {
    runs(line)
        .into_iter()
        .map(|(strong, text)| {
            if strong {
                html! { <strong>{ text }</strong> }
            } else {
                html! { { text } }
            }
        })
        .collect()
}

/// The text, drawn.
pub fn view(text: &str) -> Html {
    blocks(text)
        .into_iter()
        .map(|block| match block {
            Block::Heading(h) => html! { <h3>{ inline(&h) }</h3> },
            Block::Paragraph(p) => html! { <p>{ inline(&p) }</p> },
            Block::List(items) => html! {
                <ul>{ for items.iter().map(|i| html! { <li>{ inline(i) }</li> }) }</ul>
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_as_blocks_and_runs() {
        assert_eq!(
            blocks("# Why\nThey ask\nabout price.\n\n- one\n- two\nAfter.\n\n"),
            vec![
                Block::Heading("Why".into()),
                Block::Paragraph("They ask about price.".into()),
                Block::List(vec!["one".into(), "two".into()]),
                Block::Paragraph("After.".into()),
            ]
        );
        assert_eq!(
            runs("a **b** c"),
            vec![
                (false, "a ".into()),
                (true, "b".into()),
                (false, " c".into())
            ]
        );
        assert_eq!(runs("a ** b"), vec![(false, "a ** b".into())]);
        assert_eq!(runs("<script>"), vec![(false, "<script>".into())]);
        assert!(blocks("").is_empty());
    }
}
