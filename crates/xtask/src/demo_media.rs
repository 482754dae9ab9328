//! `cargo xtask demo-media`: the files of the demo training catalog
//! (`fixtures/training/catalog.json`), made from Debian's tools so that no
//! media is kept in the repository: a video is one of ffmpeg's test
//! patterns with the lesson's `say` spoken by espeak-ng, a sound is that
//! speech alone (AAC), a PDF prints it (written here: a page of text needs
//! no tool), an image is a test pattern. They land in
//! `target/demo-training/` beside a copy of the catalog, which the server
//! publishes with `--seed-training` (see `training/seed.rs`). A file newer
//! than the catalog is not made again.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::exec;

/// Makes what is missing; answers the directory to seed from.
pub fn make(root: &Path) -> Result<PathBuf> {
    let source = root.join("fixtures/training/catalog.json");
    let out = root.join("target/demo-training");
    fs::create_dir_all(&out)?;
    let text =
        fs::read_to_string(&source).with_context(|| format!("reading {}", source.display()))?;
    let catalog: Value = serde_json::from_str(&text)?;
    let catalog_time = fs::metadata(&source)?.modified()?;
    let files = catalog["tracks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["modules"].as_array().into_iter().flatten())
        .flat_map(|m| m["lessons"].as_array().into_iter().flatten())
        .filter_map(|l| l.get("file"));
    let scratch = out.join("scratch");
    fs::create_dir_all(&scratch)?;
    let mut made = 0;
    for (n, file) in files.enumerate() {
        let name = file["name"].as_str().context("a file with no name")?;
        let say = file["say"].as_str().unwrap_or_default();
        let target = out.join(name);
        let fresh = fs::metadata(&target)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > catalog_time);
        if fresh {
            continue;
        }
        let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        match extension {
            "mp4" => video(&scratch, say, n, &target)?,
            "m4a" => sound(&scratch, say, &target)?,
            "pdf" => fs::write(&target, pdf(say))?,
            "png" => image(n, &target)?,
            other => bail!("{name}: no way to make a .{other} file"),
        }
        made += 1;
    }
    fs::remove_dir_all(&scratch)?;
    fs::write(out.join("catalog.json"), text)?;
    println!("demo training media: {made} made, in {}", out.display());
    Ok(out)
}

fn speech(scratch: &Path, say: &str) -> Result<PathBuf> {
    let wav = scratch.join("speech.wav");
    exec(
        Command::new("espeak-ng")
            .args(["-s", "165", "-w"])
            .arg(&wav)
            .arg(say),
    )?;
    Ok(wav)
}

fn ffmpeg() -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-loglevel", "error", "-y"]);
    cmd
}

/// The patterns videos and images take in turn.
const PATTERNS: [&str; 4] = ["testsrc2", "smptehdbars", "rgbtestsrc", "testsrc"];

/// A faststart MP4 (H.264, AAC) as long as the speech: it plays and seeks
/// in every browser, Safari included.
fn video(scratch: &Path, say: &str, n: usize, target: &Path) -> Result<()> {
    let wav = speech(scratch, say)?;
    let pattern = format!("{}=size=426x240:rate=15", PATTERNS[n % PATTERNS.len()]);
    exec(
        ffmpeg()
            .args(["-f", "lavfi", "-i", &pattern, "-i"])
            .arg(&wav)
            .args([
                "-shortest",
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-b:a",
                "48k",
                "-movflags",
                "+faststart",
            ])
            .arg(target),
    )
}

fn sound(scratch: &Path, say: &str, target: &Path) -> Result<()> {
    let wav = speech(scratch, say)?;
    exec(
        ffmpeg()
            .arg("-i")
            .arg(&wav)
            .args(["-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart"])
            .arg(target),
    )
}

fn image(n: usize, target: &Path) -> Result<()> {
    let pattern = format!("{}=size=640x360", PATTERNS[n % PATTERNS.len()]);
    exec(
        ffmpeg()
            .args(["-f", "lavfi", "-i", &pattern, "-frames:v", "1"])
            .arg(target),
    )
}

/// Text as PDF strings hold it: parentheses and backslashes escaped, and
/// anything outside printable ASCII (Helvetica's standard encoding is
/// not UTF-8) as a question mark.
fn pdf_string(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Lines of at most `width` characters, broken between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A one-page A4 PDF: the first sentence as a heading, the rest as
/// paragraphs, one per sentence that starts with a number word.
pub fn pdf(say: &str) -> Vec<u8> {
    let (title, rest) = say.split_once(". ").unwrap_or((say, ""));
    let mut content = format!("BT /F2 20 Tf 72 770 Td ({}) Tj ET\n", pdf_string(title));
    let mut y = 736;
    for line in rest.split(". ").flat_map(|s| {
        let mut lines = wrap(s.trim_end_matches('.'), 80);
        lines.push(String::new());
        lines
    }) {
        if y < 72 {
            break;
        }
        if !line.is_empty() {
            content.push_str(&format!(
                "BT /F1 12 Tf 72 {y} Td ({}) Tj ET\n",
                pdf_string(&line)
            ));
        }
        y -= if line.is_empty() { 8 } else { 17 };
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_s_cross_references_point_at_its_objects() {
        let bytes = pdf("Price sheet. Starter (one site): 99 dollars. Growth – three sites.");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("(Price sheet) Tj"));
        assert!(text.contains("Starter \\(one site\\): 99 dollars"));
        assert!(text.contains("Growth ? three sites"), "{text}");
        let xref: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[xref..].starts_with("xref"));
        for (n, line) in text[xref..].lines().skip(3).take(6).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", n + 1)),
                "object {} at {offset}",
                n + 1
            );
        }
    }

    #[test]
    fn long_text_wraps_between_words() {
        let lines = wrap("one two three four five six", 9);
        assert_eq!(lines, ["one two", "three", "four five", "six"]);
        assert!(wrap("", 9).is_empty());
    }
}
