//! Iterator chains over arrays, lowered to a loop over positions.
//!
//! `xs.iter().skip(1).zip(ys).enumerate()`, `xs.windows(2)`, `w.chunks(n).rev()`,
//! `xs[1..].iter()`: every such chain walks `t` over `0..count` (backwards for a final `.rev()`)
//! and yields, at each `t`, elements `xs[index(t)]`, integers (`.enumerate()`'s count) and runs of
//! an array (`.windows(k)`, `.chunks(k)`), nested in tuples as the adaptors nest them. The
//! adaptors' arguments and the count are computed once, before the loop, as Rust does; the loop
//! is then a plain range whose trip count is known on entry, so the reverse sweep records
//! nothing to walk it back.
//!
//! A run of an array (a *view*) bound by a pattern or by `let r = &xs[a..b];` is not a value of
//! its own: `r[j]` reads `xs[start + j]`, `r.len()` its length, `r.iter()` starts a chain over
//! it, and `r` passed to a `#[differentiate]` callee is the sub-slice `&xs[start..start + len]`.

use super::{strip_parens, strip_pat_type, Binding, Lowering, Source};
use crate::model::*;
use proc_macro2::Span;
use quote::quote;
use std::rc::Rc;
use syn::{spanned::Spanned, Ident, Pat};

/// A run `array[start..start + len]` bound to a name: `start` and `len` are integer locals.
#[derive(Clone, Copy)]
pub(super) struct View {
    pub array: VarId,
    pub start: VarId,
    pub len: VarId,
}

/// What a chain yields at one position, as expressions in the position `t`.
#[derive(Clone)]
pub(super) enum Item {
    /// `array[index]`.
    Elem {
        array: VarId,
        index: syn::Expr,
    },
    /// `&mut array[index]` (`.iter_mut()`): the name bound to it reads and writes the element.
    ElemMut {
        array: VarId,
        index: syn::Expr,
    },
    /// An integer: `.enumerate()`'s count.
    Int(syn::Expr),
    /// `array[start..start + len]`.
    View {
        array: VarId,
        start: syn::Expr,
        len: syn::Expr,
    },
    Tuple(Vec<Item>),
    /// `base[index]` of data the function does not own as an array: a `const` or `static`
    /// array, a field (`self.weights`).
    Data {
        base: syn::Expr,
        index: syn::Expr,
    },
}

type ItemAt = Rc<dyn Fn(&syn::Expr) -> Item>;

/// A chain being read: how many items it yields and the item at a position.
struct Chain {
    count: syn::Expr,
    item: ItemAt,
    /// The loop walks the positions backwards (a final `.rev()`); any adaptor after it turns
    /// the reversal into the positions instead.
    reversed: bool,
}

/// A chain ready to loop over: the count, computed before the loop, and the item at `t`.
pub(super) struct Walk {
    /// The loop's variable, which the item's expressions name.
    pub position: Ident,
    pub item: Item,
}

/// Whether an iterator expression over arrays needs a chain: anything beyond what
/// [`Source::Elements`] walks (`xs`, `xs.iter()`, one `.zip(ys)`, a final `.enumerate()`).
pub(super) fn needs_chain(cx: &Lowering, e: &syn::Expr) -> bool {
    let mut methods = Vec::new();
    let mut cur = strip_parens(e);
    loop {
        match cur {
            syn::Expr::MethodCall(m) => {
                methods.push(m);
                cur = strip_parens(&m.receiver);
            }
            syn::Expr::Reference(r) if r.mutability.is_none() => cur = strip_parens(&r.expr),
            _ => break,
        }
    }
    match cur {
        syn::Expr::Index(i) => {
            return matches!(strip_parens(&i.index), syn::Expr::Range(_))
                && (cx.local_of(&i.expr).is_some()
                    || cx.view_of(&i.expr).is_some()
                    || is_data(cx, &i.expr))
        }
        base if cx.view_of(base).is_some() || is_data(cx, base) => return true,
        base if cx.local_of(base).is_none() => return false,
        _ => {}
    }
    let (mut zipped, mut enumerated) = (false, false);
    for m in methods.iter().rev() {
        match m.method.to_string().as_str() {
            "iter" | "copied" | "cloned" => {}
            "enumerate" if !enumerated => enumerated = true,
            "zip" if !zipped && !enumerated && m.args.len() == 1 => {
                zipped = true;
                let other = super::strip_iter(&m.args[0]);
                if cx.local_of(other).is_none() {
                    return true;
                }
            }
            _ => return true,
        }
    }
    false
}

/// A `const` or `static` (a path that names no local), or a field (`self.weights`, `p.xs`).
fn is_data(cx: &Lowering, e: &syn::Expr) -> bool {
    match strip_parens(e) {
        syn::Expr::Path(p) => {
            p.qself.is_none()
                && p.path
                    .get_ident()
                    .is_none_or(|id| cx.binding(&id.to_string()).is_none())
        }
        syn::Expr::Field(f) => matches!(f.member, syn::Member::Named(_)),
        _ => false,
    }
}

fn path(ident: &Ident) -> syn::Expr {
    syn::parse_quote!(#ident)
}

fn is_zero(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0"))
}

/// Wraps `e` in parentheses if it is an operation (for the operand of `*` or of `-`'s right).
fn operand(e: &syn::Expr) -> syn::Expr {
    match e {
        syn::Expr::Binary(_) => syn::parse_quote!((#e)),
        e => e.clone(),
    }
}

fn plus(a: &syn::Expr, b: &syn::Expr) -> syn::Expr {
    match (is_zero(a), is_zero(b)) {
        (true, _) => b.clone(),
        (_, true) => a.clone(),
        _ => syn::parse_quote!(#a + #b),
    }
}

fn times(a: &syn::Expr, b: &syn::Expr) -> syn::Expr {
    let (a, b) = (operand(a), operand(b));
    syn::parse_quote!(#a * #b)
}

impl Chain {
    /// The positions in the order the items are yielded, with no reversal left to the loop.
    fn forwards(self, cx: &mut Lowering, out: &mut Block) -> Chain {
        if !self.reversed {
            return self;
        }
        let n = cx.chain_temp(&self.count, self.count.span(), out);
        let item = self.item;
        let last = n.clone();
        Chain {
            count: n,
            item: Rc::new(move |t| {
                let t = operand(t);
                item(&syn::parse_quote!(#last - 1 - #t))
            }),
            reversed: false,
        }
    }
}

impl Lowering<'_> {
    /// The view bound to a name, if `e` is one.
    pub(super) fn view_of(&self, e: &syn::Expr) -> Option<View> {
        match strip_parens(e) {
            syn::Expr::Path(p) if p.qself.is_none() => {
                let id = p.path.get_ident()?;
                match self.binding(&id.to_string())? {
                    Binding::View(v) => Some(self.views[v]),
                    _ => None,
                }
            }
            syn::Expr::Reference(r) if r.mutability.is_none() => self.view_of(&r.expr),
            _ => None,
        }
    }

    /// An integer computed once, before the loop: a new local named `__chain<n>`.
    fn chain_temp(&mut self, value: &syn::Expr, span: Span, out: &mut Block) -> syn::Expr {
        if let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(_),
            ..
        }) = value
        {
            return value.clone();
        }
        let var = self.int_local("chain", value, span, out);
        path(&self.vars[var].ident.clone())
    }

    /// `let __<what><n>: usize = value;`, in scope from here.
    fn int_local(&mut self, what: &str, value: &syn::Expr, span: Span, out: &mut Block) -> VarId {
        let ident = Ident::new(&format!("__{what}{}", self.vars.len()), Span::mixed_site());
        let init = self.lower_expr(value, out);
        let var = self.new_var(
            &ident,
            Ty::Int,
            Some(syn::parse_quote!(usize)),
            false,
            VarKind::Temp,
        );
        self.vars[var].span = span;
        out.push(Stmt::Let {
            var,
            init: Some(init),
        });
        self.bind(var);
        var
    }

    /// Panics, as the standard adaptor does, for a zero step or size (`k` is a local or a
    /// literal; a literal is checked here).
    fn assert_nonzero(&mut self, k: &syn::Expr, what: &str, out: &mut Block) {
        if let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) = k
        {
            if i.base10_digits() == "0" {
                self.errors.at(k, format!("{what} is zero"));
            }
            return;
        }
        let Some(var) = self.local_of(k) else {
            return;
        };
        let ident = self.vars[var].ident.clone();
        let message = format!("{what} must not be zero");
        out.push(Stmt::Passive(quote!(assert!(#ident != 0, #message);)));
    }

    /// The chain of an iterator expression over arrays, prepared for a loop: `Ok(None)` if `e`
    /// is not such a chain (nothing is reported), `Err(())` after an error.
    pub(super) fn chain_source(
        &mut self,
        e: &syn::Expr,
        out: &mut Block,
    ) -> Result<Option<Source>, ()> {
        let mut failed = false;
        let chain = self.chain(e, out, &mut failed);
        if failed {
            return Err(());
        }
        let Some(chain) = chain else {
            return Ok(None);
        };
        Ok(Some(self.walk(chain, e, out).0))
    }

    /// The loop over a chain's positions, and the local holding its count.
    fn walk(&mut self, chain: Chain, e: &syn::Expr, out: &mut Block) -> (Source, syn::Expr) {
        let count = self.chain_temp(&chain.count, e.span(), out);
        let position = Ident::new(&format!("__at{}", self.vars.len()), Span::mixed_site());
        let item = (chain.item)(&path(&position));
        let range: syn::Expr = if chain.reversed {
            syn::parse_quote!((0..#count).rev())
        } else {
            syn::parse_quote!(0..#count)
        };
        let range_model = self.plain_range(&range, out);
        let iter = match self.opaque(&range) {
            kind @ ExprKind::Opaque { .. } => Expr {
                kind,
                span: e.span(),
                end: super::last_span(e),
            },
            _ => unreachable!("opaque() returns an opaque expression"),
        };
        let source = Source::Chain {
            iter,
            range: range_model,
            walk: Rc::new(Walk { position, item }),
        };
        (source, count)
    }

    /// `let v: Vec<f64> = xs.iter().map(|x| ..).collect();` (the type written on the `let` or
    /// in a turbofish, any chain, with or without the `.map()`): a vector of the chain's length,
    /// filled by a loop, as a person would write it. `false` if `init` is not such a collection.
    pub(super) fn lower_collect_let(
        &mut self,
        pi: &syn::PatIdent,
        written_ty: Option<&syn::Type>,
        init: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        let syn::Expr::MethodCall(m) = strip_parens(init) else {
            return false;
        };
        let float_vec =
            |t: &syn::Type| super::is_vec(t) && super::classify_type(t) == Ty::FloatArray(1);
        let typed = written_ty.is_some_and(float_vec)
            || m.turbofish
                .as_ref()
                .and_then(|t| t.args.first())
                .is_some_and(|a| matches!(a, syn::GenericArgument::Type(t) if float_vec(t)));
        if m.method != "collect" || !m.args.is_empty() || !typed {
            return false;
        }
        let Some((source, stages)) = self.mapped_source(&m.receiver, "`.collect()`") else {
            return false;
        };
        if let Some(filter) = stages.iter().find(|s| matches!(s, super::Stage::Filter(_))) {
            self.errors.at(
                filter.closure(),
                "`.filter()` before `.collect()` is not supported (the vector's length would \
                 depend on the data): collect every item, or sum the ones you keep",
            );
            let mutable = pi.mutability.is_some();
            self.declare(&pi.ident, Ty::Unknown, None, mutable, VarKind::Local);
            return true;
        }
        let mut failed = false;
        let chain = match strip_parens(source) {
            // `(a..b).map(|i| ..)`: the integers of the range.
            syn::Expr::Range(r) => match (&r.start, &r.end, &r.limits) {
                // `(a..b).map(..)` and `(a..=b).map(..)`.
                (Some(start), Some(end), limits) => {
                    let start = self.chain_temp(start, start.span(), out);
                    let first = start.clone();
                    let s = operand(&start);
                    let end: syn::Expr = match limits {
                        syn::RangeLimits::HalfOpen(_) => (**end).clone(),
                        syn::RangeLimits::Closed(_) => syn::parse_quote!(#end + 1),
                    };
                    Some(Chain {
                        // `usize::try_from`: the end may be an integer of another type
                        // (`let n = 4;` is an `i32`), and a negative one counts nothing.
                        count: syn::parse_quote!(
                            ::core::convert::TryFrom::try_from(#end)
                                .unwrap_or(0usize)
                                .saturating_sub(#s)
                        ),
                        item: Rc::new(move |t| Item::Int(plus(&first, t))),
                        reversed: false,
                    })
                }
                _ => None,
            },
            source => self.chain(source, out, &mut failed),
        };
        let Some(chain) = chain.filter(|_| !failed) else {
            return false;
        };
        let chain = chain.forwards(self, out);
        let (source, count) = self.walk(chain, init, out);
        // The vector, declared like `let mut v = vec![0.0; n];`.
        let ident = &pi.ident;
        let declared: syn::Stmt = syn::parse_quote!(let mut #ident = vec![0.0; #count];);
        self.lower_written(&declared, out);
        let Some(vector) = self.local_of(&path(ident)) else {
            return true;
        };
        // Out of scope until filled: the chain and closure read the names as they were
        // (`let x: Vec<f64> = x.iter().map(..).collect();`).
        let scope = self.scopes.last_mut().expect("a scope");
        let binding = scope.pop();
        let span = init.span();
        let stmt = self.mapped_loop(&source, &stages, |position, value| Stmt::Store {
            var: vector,
            index: vec![Expr {
                kind: ExprKind::Var(position),
                span,
                end: span,
            }],
            op: None,
            value,
            span,
        });
        out.extend(stmt);
        self.scopes.last_mut().expect("a scope").extend(binding);
        true
    }

    /// Reads a chain; `failed` is set after an error at one of its parts.
    fn chain(&mut self, e: &syn::Expr, out: &mut Block, failed: &mut bool) -> Option<Chain> {
        let e = strip_parens(e);
        if let Some(v) = self.view_of(e) {
            return Some(
                self.view_chain(v.array, path(&self.vars[v.start].ident.clone()), {
                    let l = self.vars[v.len].ident.clone();
                    path(&l)
                }),
            );
        }
        match e {
            syn::Expr::Reference(r) if r.mutability.is_none() => self.chain(&r.expr, out, failed),
            e if is_data(self, e) => {
                let base = e.clone();
                Some(Chain {
                    count: syn::parse_quote!(#e.len()),
                    item: Rc::new(move |t| Item::Data {
                        base: base.clone(),
                        index: t.clone(),
                    }),
                    reversed: false,
                })
            }
            syn::Expr::Path(_) => {
                let array = self.local_of(e)?;
                if self.vars[array].ty == Ty::FloatArray(2) {
                    let name = &self.vars[array].user_name;
                    self.errors.at(
                        e,
                        format!(
                            "iterating over the rows of `{name}` is not supported: index them \
                             with `for i in 0..{name}.len()` and `{name}[i][j]`"
                        ),
                    );
                    *failed = true;
                }
                Some(self.view_chain(array, syn::parse_quote!(0), syn::parse_quote!(#e.len())))
            }
            syn::Expr::Index(i) => {
                let syn::Expr::Range(r) = strip_parens(&i.index) else {
                    return None;
                };
                // The array (`None` for data: a const, a field), where the slice starts in it,
                // and its length.
                let (array, base_start, base_len): (Option<VarId>, syn::Expr, syn::Expr) =
                    match self.view_of(&i.expr) {
                        Some(v) => (
                            Some(v.array),
                            path(&self.vars[v.start].ident.clone()),
                            path(&self.vars[v.len].ident.clone()),
                        ),
                        None if is_data(self, &i.expr) => {
                            let base = &i.expr;
                            (None, syn::parse_quote!(0), syn::parse_quote!(#base.len()))
                        }
                        None => {
                            let array = self.local_of(&i.expr)?;
                            let base = &i.expr;
                            (
                                Some(array),
                                syn::parse_quote!(0),
                                syn::parse_quote!(#base.len()),
                            )
                        }
                    };
                let base_len = self.chain_temp(&base_len, i.expr.span(), out);
                let start = match &r.start {
                    Some(s) => self.chain_temp(s, s.span(), out),
                    None => syn::parse_quote!(0),
                };
                let end = match (&r.end, &r.limits) {
                    (Some(end), syn::RangeLimits::HalfOpen(_)) => {
                        self.chain_temp(end, end.span(), out)
                    }
                    (Some(end), syn::RangeLimits::Closed(_)) => {
                        self.chain_temp(&syn::parse_quote!(#end + 1), end.span(), out)
                    }
                    (None, _) => base_len.clone(),
                };
                // In place, the slice is not taken: its bounds are checked as slicing would.
                out.push(Stmt::Passive(quote!(
                    ::autodiff::__private::check_range(#start, #end, #base_len);
                )));
                let len: syn::Expr = if is_zero(&start) {
                    end
                } else {
                    let s = operand(&start);
                    syn::parse_quote!(#end - #s)
                };
                match array {
                    Some(array) => Some(self.view_chain(array, plus(&base_start, &start), len)),
                    None => {
                        let base = (*i.expr).clone();
                        Some(Chain {
                            count: len,
                            item: Rc::new(move |t| Item::Data {
                                base: base.clone(),
                                index: plus(&start, t),
                            }),
                            reversed: false,
                        })
                    }
                }
            }
            syn::Expr::MethodCall(m) => self.adaptor(m, out, failed),
            _ => None,
        }
    }

    /// The elements of `array[start..start + len]`.
    fn view_chain(&mut self, array: VarId, start: syn::Expr, len: syn::Expr) -> Chain {
        Chain {
            count: len,
            item: Rc::new(move |t| Item::Elem {
                array,
                index: plus(&start, t),
            }),
            reversed: false,
        }
    }

    fn adaptor(
        &mut self,
        m: &syn::ExprMethodCall,
        out: &mut Block,
        failed: &mut bool,
    ) -> Option<Chain> {
        let name = m.method.to_string();
        let arg = |i: usize| m.args.get(i);
        match (name.as_str(), m.args.len()) {
            ("iter" | "into_iter" | "copied" | "cloned", 0) => self.chain(&m.receiver, out, failed),
            ("iter_mut", 0) => {
                // Of an array of the function (or a range of one): not of a view or data.
                let receiver = match strip_parens(&m.receiver) {
                    syn::Expr::Index(i) => &i.expr,
                    r => r,
                };
                if self.view_of(receiver).is_some() || self.local_of(receiver).is_none() {
                    self.errors.at(
                        &m.receiver,
                        "`.iter_mut()` walks an array of the function here (`h.iter_mut()`, \
                         `h[1..].iter_mut()`, with `let mut h = vec![0.0; n];`)",
                    );
                    *failed = true;
                    return None;
                }
                let c = self.chain(&m.receiver, out, failed)?;
                let item = c.item;
                Some(Chain {
                    item: Rc::new(move |t| match item(t) {
                        Item::Elem { array, index } => Item::ElemMut { array, index },
                        other => other,
                    }),
                    ..c
                })
            }
            ("rev", 0) => {
                let c = self.chain(&m.receiver, out, failed)?;
                Some(Chain {
                    reversed: !c.reversed,
                    ..c
                })
            }
            ("enumerate", 0) => {
                let c = self.chain(&m.receiver, out, failed)?.forwards(self, out);
                let item = c.item;
                Some(Chain {
                    count: c.count,
                    item: Rc::new(move |t| Item::Tuple(vec![Item::Int(t.clone()), item(t)])),
                    reversed: false,
                })
            }
            ("zip", 1) => {
                let a = self.chain(&m.receiver, out, failed)?.forwards(self, out);
                let Some(b) = self.chain(arg(0)?, out, failed) else {
                    self.errors.at(
                        &m.args[0],
                        "`.zip()` here takes an array of the function or an iterator over one \
                         (`ys`, `ys.iter().skip(1)`, `&ys[1..]`)",
                    );
                    *failed = true;
                    return None;
                };
                let b = b.forwards(self, out);
                let (ca, cb) = (operand(&a.count), &b.count);
                let (ia, ib) = (a.item, b.item);
                Some(Chain {
                    count: syn::parse_quote!(#ca.min(#cb)),
                    item: Rc::new(move |t| Item::Tuple(vec![ia(t), ib(t)])),
                    reversed: false,
                })
            }
            ("skip" | "take" | "step_by", 1) => {
                let c = self.chain(&m.receiver, out, failed)?.forwards(self, out);
                let k = self.chain_temp(&m.args[0], m.args[0].span(), out);
                if name == "step_by" {
                    self.assert_nonzero(&k, "`step_by`'s step", out);
                }
                let count = operand(&c.count);
                let item = c.item;
                Some(match name.as_str() {
                    "skip" => Chain {
                        count: syn::parse_quote!(#count.saturating_sub(#k)),
                        item: Rc::new(move |t| item(&plus(t, &k))),
                        reversed: false,
                    },
                    "take" => Chain {
                        count: syn::parse_quote!(#count.min(#k)),
                        item,
                        reversed: false,
                    },
                    _ => Chain {
                        count: syn::parse_quote!(#count.div_ceil(#k)),
                        item: Rc::new(move |t| item(&times(t, &k))),
                        reversed: false,
                    },
                })
            }
            ("windows" | "chunks" | "chunks_exact", 1) => {
                // Runs of the array itself (or of a slice or view of it).
                let base = self.chain(&m.receiver, out, failed)?;
                if base.reversed || !is_plain_array_chain(&m.receiver) {
                    self.errors.at(
                        &m.method,
                        format!(
                            "`.{name}()` is supported on an array of the function \
                             (`xs.{name}(k)`, `xs[a..b].{name}(k)`)"
                        ),
                    );
                    *failed = true;
                    return None;
                }
                let Item::Elem {
                    array,
                    index: start,
                } = (base.item)(&syn::parse_quote!(0))
                else {
                    self.errors.at(
                        &m.method,
                        format!(
                            "`.{name}()` of a `const` or a field is not supported: index it \
                             (`for i in 0..xs.len()`, `xs[i + j]`)"
                        ),
                    );
                    *failed = true;
                    return None;
                };
                let len = self.chain_temp(&base.count, m.receiver.span(), out);
                let k = self.chain_temp(&m.args[0], m.args[0].span(), out);
                self.assert_nonzero(&k, &format!("the size of `.{name}()`"), out);
                let start = if is_zero(&start) {
                    start
                } else {
                    self.chain_temp(&start, m.receiver.span(), out)
                };
                Some(match name.as_str() {
                    "windows" => Chain {
                        count: syn::parse_quote!((#len + 1).saturating_sub(#k)),
                        item: Rc::new(move |t| Item::View {
                            array,
                            start: plus(&start, t),
                            len: k.clone(),
                        }),
                        reversed: false,
                    },
                    "chunks_exact" => Chain {
                        count: syn::parse_quote!(#len / #k),
                        item: Rc::new(move |t| Item::View {
                            array,
                            start: plus(&start, &times(t, &k)),
                            len: k.clone(),
                        }),
                        reversed: false,
                    },
                    _ => Chain {
                        count: syn::parse_quote!(#len.div_ceil(#k)),
                        item: Rc::new(move |t| {
                            let first = times(t, &k);
                            let rest = operand(&first);
                            Item::View {
                                array,
                                start: plus(&start, &first),
                                len: syn::parse_quote!(#k.min(#len - #rest)),
                            }
                        }),
                        reversed: false,
                    },
                })
            }
            _ => None,
        }
    }

    /// Binds a chain's item at the loop's position to a pattern: `let x = xs[..];` for each
    /// element, the count for an integer, a view for a run of an array.
    pub(super) fn bind_item(&mut self, item: &Item, pat: &Pat, body: &mut Block) -> bool {
        let by_ref = matches!(strip_pat_type(pat), Pat::Reference(_));
        let pat = match strip_pat_type(pat) {
            Pat::Reference(r) if r.mutability.is_none() => strip_pat_type(&r.pat),
            p => p,
        };
        match (item, pat) {
            (_, Pat::Wild(_)) => true,
            (Item::Tuple(items), Pat::Tuple(t)) if t.elems.len() == items.len() => items
                .iter()
                .zip(&t.elems)
                .all(|(i, p)| self.bind_item(i, p, body)),
            (Item::Tuple(items), other) => {
                self.errors.at(
                    &other,
                    format!(
                        "this iterator yields tuples of {} values (`.zip()` and `.enumerate()` \
                         nest them as Rust does): write the pattern as a tuple, e.g. `(a, b)` or \
                         `((i, a), b)`",
                        items.len()
                    ),
                );
                false
            }
            // `for &(i, j, r) in ratings` of data: the element under a name of its own, taken
            // apart by a `let`.
            (Item::Data { .. }, p @ (Pat::Tuple(_) | Pat::Slice(_))) => {
                let hidden = Ident::new(
                    &format!("__item{}", self.vars.len()),
                    proc_macro2::Span::mixed_site(),
                );
                let named: Pat = syn::parse_quote!(#hidden);
                if !self.bind_item(item, &named, body) {
                    return false;
                }
                let parts: syn::Stmt = syn::parse_quote_spanned!(p.span()=> let #p = #hidden;);
                self.lower_written(&parts, body);
                true
            }
            (_, Pat::Ident(pi)) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                let span = pi.ident.span();
                // The value bound, and its type as far as it is known here.
                let (value, ty) = match item {
                    Item::Elem { array, index } => {
                        let kind = match self.opaque(index) {
                            // An element of a slice of another type is a reference, as in Rust
                            // (`shapes.iter().map(|s| area(s, k))` with `area(s: &Shape, ..)`).
                            ExprKind::Opaque {
                                tokens: i,
                                mut refs,
                            } if self.vars[*array].ty == Ty::Other && !by_ref => {
                                refs.push(*array);
                                let a = &self.vars[*array].ident;
                                ExprKind::Opaque {
                                    tokens: quote!(&#a[#i]),
                                    refs,
                                }
                            }
                            _ => ExprKind::Index {
                                var: *array,
                                index: vec![self.lower_expr(index, body)],
                            },
                        };
                        (
                            Expr {
                                kind,
                                span,
                                end: span,
                            },
                            Ty::Unknown,
                        )
                    }
                    Item::Data { base, index } => {
                        let read: syn::Expr = syn::parse_quote!(#base[#index]);
                        (self.lower_expr(&read, body), Ty::Unknown)
                    }
                    Item::Int(value) => (self.lower_expr(value, body), Ty::Int),
                    Item::View { array, start, len } => {
                        let start = self.int_local("view_start", start, span, body);
                        let len = self.int_local("view_len", len, span, body);
                        self.bind_view(&pi.ident, *array, start, len);
                        return true;
                    }
                    Item::ElemMut { array, index } => {
                        let index = self.int_local("elem", index, span, body);
                        let at = self.elems.len();
                        self.elems.push((*array, index));
                        self.scopes
                            .last_mut()
                            .expect("a scope")
                            .push((pi.ident.to_string(), Binding::Elem(at)));
                        return true;
                    }
                    Item::Tuple(_) => unreachable!("matched above"),
                };
                let mutable = pi.mutability.is_some();
                let var = self.declare(&pi.ident, ty, None, mutable, VarKind::Local);
                body.push(Stmt::Let {
                    var,
                    init: Some(value),
                });
                true
            }
            (_, other) => {
                self.errors.at(
                    &other,
                    "bind each value of the iterator to a plain name (`x`, `&x`, `(i, x)`)",
                );
                false
            }
        }
    }

    pub(super) fn bind_view(&mut self, name: &Ident, array: VarId, start: VarId, len: VarId) {
        let index = self.views.len();
        self.views.push(View { array, start, len });
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((name.to_string(), Binding::View(index)));
    }

    /// `let r = &xs[a..b];` (also `&xs[a..]`, `&xs[..b]`, `&xs[a..=b]`, and of a view) of an
    /// array of floats: `r` becomes a view. `false` if `init` is not such a slice.
    pub(super) fn lower_view_let(
        &mut self,
        pi: &syn::PatIdent,
        init: &syn::Expr,
        out: &mut Block,
    ) -> bool {
        let syn::Expr::Reference(r) = strip_parens(init) else {
            return false;
        };
        let syn::Expr::Index(i) = strip_parens(&r.expr) else {
            return false;
        };
        if r.mutability.is_some()
            || pi.mutability.is_some()
            || !matches!(strip_parens(&i.index), syn::Expr::Range(_))
            || (self.view_of(&i.expr).is_none() && self.local_of(&i.expr).is_none())
        {
            return false;
        }
        let Some(view) = self.slice_view(init, pi.ident.span(), out) else {
            return false;
        };
        self.bind_view(&pi.ident, view.array, view.start, view.len);
        true
    }

    /// The view of `&xs[a..b]` (an array of the function, or a view), its start and length in
    /// locals; `None` if `e` is not such a slice.
    pub(super) fn slice_view(
        &mut self,
        e: &syn::Expr,
        span: Span,
        out: &mut Block,
    ) -> Option<View> {
        let mut failed = false;
        let chain = self.chain(e, out, &mut failed)?;
        let Item::Elem { array, index } = (chain.item)(&syn::parse_quote!(0)) else {
            return None;
        };
        let start = self.int_local("view_start", &index, span, out);
        let len = self.int_local("view_len", &chain.count, span, out);
        Some(View { array, start, len })
    }

    /// `r[j]` of a view `r`: the element `xs[start + j]`.
    pub(super) fn view_index(
        &mut self,
        view: View,
        index: &syn::Expr,
        out: &mut Block,
    ) -> ExprKind {
        let span = index.span();
        // Read in place, where the array's own bounds are wider: checked against the run's.
        if let ExprKind::Opaque { tokens, .. } = self.opaque(index) {
            let len = &self.vars[view.len].ident;
            out.push(Stmt::Passive(quote!(
                ::autodiff::__private::check_index(#tokens, #len);
            )));
        }
        let j = self.lower_expr(index, out);
        ExprKind::Index {
            var: view.array,
            index: vec![Expr {
                kind: ExprKind::Binary(
                    BinOp::Add,
                    Box::new(Expr {
                        kind: ExprKind::Var(view.start),
                        span,
                        end: span,
                    }),
                    Box::new(j),
                ),
                span,
                end: span,
            }],
        }
    }

    /// A view used as a value (passed to a callee): the sub-slice `&xs[start..start + len]`.
    pub(super) fn view_value(&self, view: View) -> ExprKind {
        let array = &self.vars[view.array].ident;
        let start = &self.vars[view.start].ident;
        let len = &self.vars[view.len].ident;
        ExprKind::Opaque {
            tokens: quote!(&#array[#start..#start + #len]),
            refs: vec![view.array, view.start, view.len],
        }
    }
}

/// Whether a receiver of `.windows()`/`.chunks()` is an array or a slice of one, not an adaptor.
fn is_plain_array_chain(e: &syn::Expr) -> bool {
    match strip_parens(e) {
        syn::Expr::Path(_) | syn::Expr::Index(_) => true,
        syn::Expr::Reference(r) => is_plain_array_chain(&r.expr),
        _ => false,
    }
}
