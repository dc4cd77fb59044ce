//! Parsers for ADBench's input files (the files themselves are in `data/adbench/`).
//!
//! Both formats are whitespace-separated decimal numbers; line breaks carry no meaning.

use std::path::PathBuf;

/// Path of an ADBench input shipped with the project, e.g. `data_path("gmm_1k_d2_K5.txt")`.
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join("adbench")
        .join(name)
}

/// Reads and parses a shipped ADBench file with `parse`, naming the file in any error.
pub fn load<T>(name: &str, parse: fn(&str) -> Result<T, String>) -> Result<T, String> {
    let path = data_path(name);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A bundle-adjustment problem, expanded as ADBench expands it.
#[derive(Clone, Debug)]
pub struct BaInput {
    /// Cameras: `[r0 r1 r2 C0 C1 C2 f u0 v0 k1 k2]` (angle-axis rotation, centre, focal length, principal
    /// point, radial distortion).
    pub cams: Vec<[f64; 11]>,
    /// 3-D points.
    pub points: Vec<[f64; 3]>,
    /// One weight per observation.
    pub weights: Vec<f64>,
    /// One 2-D feature per observation.
    pub feats: Vec<[f64; 2]>,
    /// Observation `i` sees point `obs[i].1` from camera `obs[i].0`.
    pub obs: Vec<(usize, usize)>,
}

/// A Gaussian-mixture problem in ADBench's flat row-major layout.
#[derive(Clone, Debug)]
pub struct GmmInput {
    /// Dimension of the data.
    pub d: usize,
    /// Number of mixture components.
    pub k: usize,
    /// Number of data points.
    pub n: usize,
    /// Mixture weights before the softmax, `k` values.
    pub alphas: Vec<f64>,
    /// Means, `k` rows of `d`.
    pub means: Vec<f64>,
    /// Inverse-covariance factors, `k` rows of `d (d + 1) / 2`: log-diagonal then the strictly-lower part
    /// column by column.
    pub icf: Vec<f64>,
    /// Data points, `n` rows of `d`.
    pub x: Vec<f64>,
    /// Wishart prior scale γ.
    pub gamma: f64,
    /// Wishart prior degrees of freedom m.
    pub m: i32,
}

/// Pulls whitespace-separated numbers out of a text, saying which one is missing or malformed.
struct Numbers<'a> {
    words: std::str::SplitAsciiWhitespace<'a>,
    read: usize,
}

impl<'a> Numbers<'a> {
    fn new(text: &'a str) -> Self {
        Numbers {
            words: text.split_ascii_whitespace(),
            read: 0,
        }
    }

    fn next<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, String> {
        let index = self.read;
        self.read += 1;
        let word = self
            .words
            .next()
            .ok_or_else(|| format!("number {index} ({what}) is missing: the file ends early"))?;
        word.parse()
            .map_err(|_| format!("number {index} ({what}) is `{word}`, not a valid value"))
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[f64; N], String> {
        let mut out = [0.0; N];
        for v in &mut out {
            *v = self.next(what)?;
        }
        Ok(out)
    }

    fn vec(&mut self, len: usize, what: &str) -> Result<Vec<f64>, String> {
        (0..len).map(|_| self.next(what)).collect()
    }

    fn finish(mut self) -> Result<(), String> {
        match self.words.next() {
            None => Ok(()),
            Some(word) => Err(format!(
                "unexpected `{word}` after the last expected number ({} read)",
                self.read
            )),
        }
    }
}

/// Parses ADBench's BA format: `n m p`, one camera (11 numbers), one point (3), one weight, one feature (2).
///
/// The camera is replicated `n` times, the point `m` times, the weight and feature `p` times, and
/// observation `i` is `(i mod n, i mod m)`.
pub fn parse_ba(text: &str) -> Result<BaInput, String> {
    let mut nums = Numbers::new(text);
    let n: usize = nums.next("camera count n")?;
    let m: usize = nums.next("point count m")?;
    let p: usize = nums.next("observation count p")?;
    if n == 0 || m == 0 {
        return Err(format!("n = {n} and m = {m} must both be positive"));
    }
    let cam: [f64; 11] = nums.array("camera")?;
    let point: [f64; 3] = nums.array("point")?;
    let weight: f64 = nums.next("weight")?;
    let feat: [f64; 2] = nums.array("feature")?;
    nums.finish()?;
    Ok(BaInput {
        cams: vec![cam; n],
        points: vec![point; m],
        weights: vec![weight; p],
        feats: vec![feat; p],
        obs: (0..p).map(|i| (i % n, i % m)).collect(),
    })
}

/// Parses ADBench's GMM format: `d k n`, `k` alphas, `k` means of `d`, `k` icf rows of `d (d + 1) / 2`,
/// `n` points of `d`, then `γ m`.
pub fn parse_gmm(text: &str) -> Result<GmmInput, String> {
    let mut nums = Numbers::new(text);
    let d: usize = nums.next("dimension d")?;
    let k: usize = nums.next("component count k")?;
    let n: usize = nums.next("point count n")?;
    let alphas = nums.vec(k, "alpha")?;
    let means = nums.vec(k * d, "mean")?;
    let icf = nums.vec(k * d * (d + 1) / 2, "icf")?;
    let x = nums.vec(n * d, "data point")?;
    let gamma: f64 = nums.next("Wishart gamma")?;
    let m: i32 = nums.next("Wishart m (an integer)")?;
    nums.finish()?;
    Ok(GmmInput {
        d,
        k,
        n,
        alphas,
        means,
        icf,
        x,
        gamma,
        m,
    })
}
