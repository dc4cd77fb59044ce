//! Bounds checks out of the generated loops, by slicing before the loop.
//!
//! Generated loops index their arrays the way the user wrote them (`means[c * d + j]`), so every
//! access is bounds-checked, which in short inner loops costs as much as the arithmetic. A loop
//! `for j in a..b` (or its `.rev()`) whose body reads or writes an array `xs` only as
//! `xs[base + j]` (or `xs[j]`), with `base` unchanged by the body, and does so on every
//! iteration, becomes
//!
//! ```text
//! let __hi = b;
//! if a < __hi {
//!     let __slice1 = &mut xs[base..][..__hi];
//!     for j in a..__hi { .. __slice1[j] .. }
//! }
//! ```
//!
//! as a person tuning it by hand would write: the compiler then knows `j < xs.len()`. The slice is
//! in bounds exactly when the loop's last access is (the body makes it on every iteration), so
//! no new panic can appear, and an empty loop takes no slice, unless the index arithmetic
//! overflows (`xs[n - 1 + j]` with `n = 0`: wrapped in a release build, where the slice's start
//! is then out of range; a debug build panics at the subtraction either way). The pass runs on
//! the generated pullback after it is printed.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::collections::HashSet;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident};

/// Rewrites every eligible loop of `tokens` (an item); returns them unchanged if they do not
/// parse as one.
pub fn hoist(tokens: TokenStream) -> TokenStream {
    match syn::parse2::<syn::Item>(tokens.clone()) {
        Ok(mut item) => {
            Loops(0).visit_item_mut(&mut item);
            item.into_token_stream()
        }
        Err(_) => tokens,
    }
}

/// The pass, with the number of slices taken so far (each slice gets a name of its own).
struct Loops(usize);

impl VisitMut for Loops {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        // Inner loops first: an array an inner loop slices is then used by the outer one in the
        // slicing itself, which keeps the outer one from slicing it too.
        syn::visit_mut::visit_expr_mut(self, e);
        if let Expr::ForLoop(f) = e {
            if let Some(rewritten) = slice_loop(f, &mut self.0) {
                *e = rewritten;
            }
        }
    }
}

/// `a..b` or `(a..b).rev()`.
fn range_of(e: &Expr) -> Option<(&Expr, &Expr)> {
    match e {
        Expr::Paren(p) => range_of(&p.expr),
        Expr::MethodCall(m) if m.method == "rev" && m.args.is_empty() => range_of(&m.receiver),
        Expr::Range(syn::ExprRange {
            start: Some(a),
            end: Some(b),
            limits: syn::RangeLimits::HalfOpen(_),
            ..
        }) => Some((a, b)),
        _ => None,
    }
}

/// One array's accesses in a loop body.
#[derive(Default)]
struct Uses {
    /// The ident as written at the accesses (kept for the slice, with its hygiene).
    ident: Option<Ident>,
    /// The base of every access (`None` before the first), as tokens.
    base: Option<Option<String>>,
    base_expr: Option<Expr>,
    written: bool,
    /// Something other than `xs[base + j]` mentions the array.
    other: bool,
    /// An access happens on every iteration.
    unconditional: bool,
}

fn slice_loop(f: &mut syn::ExprForLoop, taken: &mut usize) -> Option<Expr> {
    let syn::Pat::Ident(pi) = &*f.pat else {
        return None;
    };
    let var = pi.ident.to_string();
    // `let j_2 = j;` at the top of the body (fused loops rename their index): the same index.
    let mut vars = vec![var.clone()];
    let lets = let_names(&f.body);
    for stmt in &f.body.stmts {
        if let syn::Stmt::Local(syn::Local {
            pat: syn::Pat::Ident(alias),
            init: Some(init),
            ..
        }) = stmt
        {
            let name = alias.ident.to_string();
            // Only an alias that cannot change (`let mut k = j; k += 1;` is another index).
            if alias.mutability.is_none()
                && lets.iter().filter(|n| **n == name).count() == 1
                && matches!(&*init.expr, Expr::Path(p) if vars.iter().any(|v| p.path.is_ident(v)))
            {
                vars.push(name);
            }
        }
    }
    let (start, end) = range_of(&f.expr)?;
    let (start, end) = (start.clone(), end.clone());
    if exits(&f.body) {
        return None;
    }
    let mut scan = Scan {
        vars: &vars,
        assigned: HashSet::new(),
        arrays: Vec::new(),
        depth: 0,
    };
    scan.visit_block(&f.body);
    // The end is evaluated once, before the slices are taken (it may read an array sliced
    // mutably: `for j in 0..h.len() { h[j] += .. }`); the start is read again by the loop.
    let in_start: HashSet<String> = idents(&start.to_token_stream()).into_iter().collect();
    let hi = Ident::new("__hi", proc_macro2::Span::mixed_site());
    let mut slices = Vec::new();
    let mut names = Vec::new();
    for (name, u) in &scan.arrays {
        let (Some(ident), Some(base)) = (&u.ident, &u.base) else {
            continue;
        };
        if u.other || !u.unconditional || scan.assigned.contains(name) || in_start.contains(name) {
            continue;
        }
        if let Some(b) = &u.base_expr {
            if !plain(b) {
                continue;
            }
            let base_idents = idents(&b.to_token_stream());
            if base_idents
                .iter()
                .any(|i| vars.contains(i) || scan.assigned.contains(i))
            {
                continue;
            }
        }
        let mutability = u.written.then(|| quote!(mut));
        let sliced = match (base, &u.base_expr) {
            (Some(_), Some(b)) => quote!(&#mutability #ident[#b..][..#hi]),
            _ => quote!(&#mutability #ident[..#hi]),
        };
        // A name of its own, hygienic: never the name of another array, nor a `let` that would
        // shadow a `const`.
        *taken += 1;
        let slice = Ident::new(&format!("__slice{taken}"), proc_macro2::Span::mixed_site());
        slices.push(quote!(let #slice = #sliced;));
        names.push((name.clone(), slice));
    }
    if slices.is_empty() {
        return None;
    }
    Rebase {
        vars: &vars,
        names: &names,
    }
    .visit_block_mut(&mut f.body);
    set_end(&mut f.expr, &hi);
    let for_loop = &*f;
    Some(syn::parse_quote! {{
        let #hi = #end;
        if #start < #hi {
            #(#slices)*
            #for_loop
        }
    }})
}

/// Replaces the end of the range of `a..b` or `(a..b).rev()` by `hi`.
fn set_end(e: &mut Expr, hi: &Ident) {
    match e {
        Expr::Paren(p) => set_end(&mut p.expr, hi),
        Expr::MethodCall(m) => set_end(&mut m.receiver, hi),
        Expr::Range(r) => r.end = Some(Box::new(syn::parse_quote!(#hi))),
        _ => {}
    }
}

/// The names every `let` (and every nested loop's pattern) of a block binds.
fn let_names(b: &syn::Block) -> Vec<String> {
    struct Lets(Vec<String>);
    impl Visit<'_> for Lets {
        fn visit_local(&mut self, l: &syn::Local) {
            self.0.extend(idents(&l.pat.to_token_stream()));
            syn::visit::visit_local(self, l);
        }
        fn visit_expr_for_loop(&mut self, f: &syn::ExprForLoop) {
            self.0.extend(idents(&f.pat.to_token_stream()));
            syn::visit::visit_expr_for_loop(self, f);
        }
    }
    let mut lets = Lets(Vec::new());
    lets.visit_block(b);
    lets.0
}

/// Whether a base is plain arithmetic on names (and `.len()`): nothing in it can change or read
/// state that the loop's body changes (`self.c.get()`, `it.next()`).
fn plain(e: &Expr) -> bool {
    match e {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Paren(p) => plain(&p.expr),
        Expr::Binary(b) => plain(&b.left) && plain(&b.right),
        Expr::Unary(u) => plain(&u.expr),
        Expr::Cast(c) => plain(&c.expr),
        Expr::Field(f) => plain(&f.base),
        Expr::MethodCall(m) => m.method == "len" && m.args.is_empty() && plain(&m.receiver),
        _ => false,
    }
}

/// Whether a block can leave its loop early (`break`, `continue`, `return`, `?`), which would
/// make the accesses after it conditional.
fn exits(b: &syn::Block) -> bool {
    struct Exits(bool);
    impl Visit<'_> for Exits {
        fn visit_expr_break(&mut self, _: &syn::ExprBreak) {
            self.0 = true;
        }
        fn visit_expr_continue(&mut self, _: &syn::ExprContinue) {
            self.0 = true;
        }
        fn visit_expr_return(&mut self, _: &syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_try(&mut self, _: &syn::ExprTry) {
            self.0 = true;
        }
        fn visit_macro(&mut self, _: &syn::Macro) {
            // A macro may panic or exit; its body is not looked into.
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &syn::ExprClosure) {}
    }
    let mut e = Exits(false);
    e.visit_block(b);
    e.0
}

fn idents(tokens: &TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens.clone() {
        match t {
            proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
            proc_macro2::TokenTree::Group(g) => out.extend(idents(&g.stream())),
            _ => {}
        }
    }
    out
}

/// The base of an index `j` (`Some(None)`) or `base + j` (`Some(Some(base))`), `j` one of `vars`.
fn base_of(index: &Expr, vars: &[String]) -> Option<Option<Expr>> {
    let is_var = |e: &Expr| matches!(e, Expr::Path(p) if vars.iter().any(|v| p.path.is_ident(v)));
    match index {
        e if is_var(e) => Some(None),
        Expr::Paren(p) => base_of(&p.expr, vars),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) && is_var(&b.right) => {
            Some(Some((*b.left).clone()))
        }
        _ => None,
    }
}

struct Scan<'a> {
    /// The loop's index and its aliases.
    vars: &'a [String],
    assigned: HashSet<String>,
    arrays: Vec<(String, Uses)>,
    /// Inside a construct that may not run on every iteration.
    depth: usize,
}

impl Scan<'_> {
    fn uses(&mut self, name: &str) -> &mut Uses {
        if let Some(i) = self.arrays.iter().position(|(n, _)| n == name) {
            return &mut self.arrays[i].1;
        }
        self.arrays.push((name.to_string(), Uses::default()));
        &mut self.arrays.last_mut().expect("pushed").1
    }

    fn access(&mut self, ix: &syn::ExprIndex, written: bool) {
        let Expr::Path(p) = &*ix.expr else {
            // `rows[j][k] += ..` writes into `rows`.
            match &*ix.expr {
                Expr::Index(inner) => self.access(inner, written),
                other => self.visit_expr(other),
            }
            self.visit_expr(&ix.index);
            return;
        };
        let Some(ident) = p.path.get_ident().cloned() else {
            // `consts::K[idx[j]]`: not an array of the loop's, but its index is read.
            self.visit_expr(&ix.index);
            return;
        };
        let name = ident.to_string();
        let base = base_of(&ix.index, self.vars);
        let unconditional = self.depth == 0;
        let u = self.uses(&name);
        u.ident.get_or_insert(ident);
        u.written |= written;
        if unconditional {
            u.unconditional = true;
        }
        match base {
            Some(b) => {
                let key = b.as_ref().map(|e| e.to_token_stream().to_string());
                match &u.base {
                    None => {
                        u.base = Some(key);
                        u.base_expr = b;
                    }
                    Some(k) if *k == key => {}
                    Some(_) => u.other = true,
                }
            }
            None => u.other = true,
        }
        self.visit_expr(&ix.index);
    }

    fn assigned_place(&mut self, e: &Expr) {
        match e {
            Expr::Path(p) => {
                if let Some(i) = p.path.get_ident() {
                    self.assigned.insert(i.to_string());
                }
            }
            Expr::Index(ix) => self.access(ix, true),
            other => {
                // A field or a deref: whatever it names may change.
                for i in idents(&other.to_token_stream()) {
                    self.assigned.insert(i);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_expr_index(&mut self, ix: &'ast syn::ExprIndex) {
        self.access(ix, false);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        self.assigned_place(&a.left);
        self.visit_expr(&a.right);
    }

    fn visit_expr_binary(&mut self, b: &'ast syn::ExprBinary) {
        use syn::BinOp::*;
        match b.op {
            AddAssign(_) | SubAssign(_) | MulAssign(_) | DivAssign(_) | RemAssign(_)
            | BitXorAssign(_) | BitAndAssign(_) | BitOrAssign(_) | ShlAssign(_) | ShrAssign(_) => {
                self.assigned_place(&b.left);
                self.visit_expr(&b.right);
            }
            And(_) | Or(_) => {
                self.visit_expr(&b.left);
                self.depth += 1;
                self.visit_expr(&b.right);
                self.depth -= 1;
            }
            _ => syn::visit::visit_expr_binary(self, b),
        }
    }

    fn visit_expr_reference(&mut self, r: &'ast syn::ExprReference) {
        if r.mutability.is_some() {
            self.assigned_place(&r.expr);
        } else {
            self.visit_expr(&r.expr);
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        for i in idents(&l.pat.to_token_stream()) {
            self.assigned.insert(i);
        }
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
        }
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        // A mention of an array other than as an indexed base.
        if let Some(i) = p.path.get_ident() {
            let name = i.to_string();
            if let Some((_, u)) = self.arrays.iter_mut().find(|(n, _)| *n == name) {
                u.other = true;
            } else {
                self.uses(&name).other = true;
            }
        }
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        // A method may change its receiver (`v.push(x)`, `self.c.set(k)`).
        for i in idents(&m.receiver.to_token_stream()) {
            self.assigned.insert(i);
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        self.depth += 1;
        self.visit_block(&i.then_branch);
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
        self.depth -= 1;
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        self.depth += 1;
        for arm in &m.arms {
            self.visit_arm(arm);
        }
        self.depth -= 1;
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        for i in idents(&f.pat.to_token_stream()) {
            self.assigned.insert(i);
        }
        self.depth += 1;
        self.visit_block(&f.body);
        self.depth -= 1;
    }

    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.depth += 1;
        syn::visit::visit_expr_while(self, w);
        self.depth -= 1;
    }

    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.depth += 1;
        syn::visit::visit_expr_loop(self, l);
        self.depth -= 1;
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        // Names a closure mentions are not followed: they count as changed.
        for i in idents(&c.to_token_stream()) {
            self.assigned.insert(i.clone());
            self.uses(&i).other = true;
        }
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        for i in idents(&m.tokens) {
            self.assigned.insert(i.clone());
            self.uses(&i).other = true;
        }
    }
}

/// `xs[base + j]` → `__slice1[j]` for the sliced arrays.
struct Rebase<'a> {
    vars: &'a [String],
    /// Each sliced array and its slice.
    names: &'a [(String, Ident)],
}

impl VisitMut for Rebase<'_> {
    fn visit_expr_index_mut(&mut self, ix: &mut syn::ExprIndex) {
        if let Expr::Path(p) = &*ix.expr {
            if let Some(name) = p.path.get_ident().map(|i| i.to_string()) {
                if let Some((_, slice)) = self.names.iter().find(|(n, _)| *n == name) {
                    if let Some(Some(_)) = base_of(&ix.index, self.vars) {
                        // The index's own token, for its hygiene.
                        if let Some(j) = index_var(&ix.index) {
                            *ix.index = syn::parse_quote!(#j);
                        }
                    }
                    *ix.expr = syn::parse_quote!(#slice);
                    return;
                }
            }
        }
        syn::visit_mut::visit_expr_index_mut(self, ix);
    }
}

/// The `j` of an index `base + j`.
fn index_var(e: &Expr) -> Option<Ident> {
    match e {
        Expr::Paren(p) => index_var(&p.expr),
        Expr::Binary(b) => match &*b.right {
            Expr::Path(p) => p.path.get_ident().cloned(),
            _ => None,
        },
        _ => None,
    }
}
