//! Reverse mode: the pullback `__<name>_pullback`, generated source rather than a runtime tape
//! of operations.
//!
//! The forward sweep is the user's function in three-address form: each operation whose
//! result the reverse sweep needs gets its own immutable local (`let __t3 = a * b;`,
//! `let (y, __d1) = rules::sin(x);`). Reads of a mutable variable whose value is needed later
//! are copied first, so the reverse sweep never sees a value that was overwritten. The reverse
//! sweep is a closure that runs one adjoint statement per operation in reverse order
//! (`__adj_x += __adj_y * __d1;`), accumulating each adjoint in a plain `f64` local: a shared
//! subexpression costs one adjoint, and each operation's adjoint runs once.
//! Adjoints start at `-0.0`, not `0.0`: `-0.0 + x` is `x` for every `x`, so the compiler
//! drops the first addition into each adjoint (it may not drop `0.0 + x`, which differs from
//! `x` when `x` is `-0.0`). Scalar results add `0.0` once at the end, so a derivative that
//! nothing contributed to reads `0.0`.
//!
//! Outside loops the closure simply captures the locals it needs (values defined inside a
//! branch are declared at the top of the function so that it can). Inside loops, a value the
//! reverse sweep needs is pushed on a tape by the operation that needs it, and popped by that
//! operation's adjoint: linear operations record nothing, and values the reverse sweep can
//! recompute (constants, loop indices of `for` loops over ranges, integers computed from them)
//! are recomputed rather than recorded. Control flow records its decisions: the branch an `if`
//! or `match` took, and the trip count of a loop that cannot be walked backwards from its range.
//! `break`, `continue` and `return` set an exit code that guards the rest of each block, so the
//! reverse sweep knows exactly which statements ran.

use crate::forward::ret_value;
use crate::infer::{is_active, type_of};
use crate::model::*;
use crate::print::{sibling_path, Mode, Printer};
use crate::storage::{addr, Plan};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::{HashMap, HashSet};
use syn::Ident;

/// Whether the pullback is generic over its adjoint type (`f64`, or `Lanes<M>` for a Jacobian
/// in one sweep): functions with several outputs, no arrays (their adjoints live in `f64`
/// buffers) and no calls (callees' backpropagators take `f64`).
pub fn lanes_pullback(f: &Function) -> bool {
    fn stmt_calls(s: &Stmt) -> bool {
        match s {
            Stmt::Let { init, .. } => init.as_ref().is_some_and(contains_call),
            Stmt::LetCall { .. } => true,
            Stmt::Assign { value, .. } => contains_call(value),
            Stmt::Store { index, value, .. } => {
                contains_call(value) || index.iter().any(contains_call)
            }
            Stmt::Push { value, .. } => contains_call(value),
            Stmt::If { cond, then, els } => {
                contains_call(cond) || then.iter().any(stmt_calls) || els.iter().any(stmt_calls)
            }
            Stmt::Match { scrutinee, arms } => {
                contains_call(scrutinee) || arms.iter().any(|a| a.body.iter().any(stmt_calls))
            }
            Stmt::Block(b) | Stmt::Loop { body: b, .. } => b.iter().any(stmt_calls),
            Stmt::Return { values } => values.iter().any(contains_call),
            Stmt::Exit { .. } | Stmt::Passive(_) => false,
        }
    }
    f.ret.len() > 1
        && f.partials.is_none()
        && !f.vars.iter().any(|v| matches!(v.ty, Ty::FloatArray(_)))
        && !f.body.iter().any(stmt_calls)
}

pub fn pullback_fn(f: &Function) -> TokenStream {
    let lanes = lanes_pullback(f);
    let adj_ty_name = mixed("__Adj");
    let (zero, adj_scalar) = if lanes {
        (
            quote!(<#adj_ty_name as ::autodiff::__private::Adjoint>::ZERO),
            quote!(#adj_ty_name),
        )
    } else {
        (quote!(-0.0_f64), quote!(f64))
    };
    let mut rev = Rev {
        zero: zero.clone(),
        f,
        p: Printer {
            vars: &f.vars,
            mode: Mode::Plain,
            ret: f.ret,
        },
        counter: 0,
        hoisted: Vec::new(),
        adj_scopes: vec![Vec::new()],
        depth: 0,
        loops: Vec::new(),
        var_level: HashMap::new(),
        recomputable: HashSet::new(),
        adj_names: AdjNames::default(),
        needs_exit: needs_exit_code(&f.body),
        tape: false,
        tape_n: false,
        back_stacks: Vec::new(),
        plan: crate::storage::plan(f),
        counters: HashSet::new(),
        rev_locals: Vec::new(),
        replay_failed: HashSet::new(),
        adj_accs: HashMap::new(),
        refill_at: HashMap::new(),
        pending_refills: HashMap::new(),
        pushed_held: HashMap::new(),
        rest_exits: false,
    };
    // A parameter the function changes through a call (`self.count.set(k + 1)`, a `Cell` of
    // a `&` parameter) may read differently in the reverse sweep: what depends on it is
    // recorded, not computed again.
    let changed: HashSet<VarId> = f
        .effect_calls
        .iter()
        .filter(|c| c.mac.is_none())
        .flat_map(|c| c.refs.iter().copied())
        .collect();
    for p in &f.params {
        rev.var_level.insert(p.var, 0);
        if !f.vars[p.var].mutable && !changed.contains(&p.var) && !f.is_inout(p.var) {
            rev.recomputable.insert(p.var);
        }
    }
    let n_out = f.ret.len();
    let rets: Vec<Ident> = (0..n_out).map(|i| mixed(&format!("__ret{i}"))).collect();
    let ret_adjs: Vec<Ident> = (0..n_out)
        .map(|i| mixed(&format!("__adj_ret{i}")))
        .collect();
    for r in &rets {
        rev.hoisted.push(quote!(let mut #r = 0.0_f64;));
    }
    if rev.needs_exit {
        let exit = exit_code();
        rev.hoisted.push(quote!(let mut #exit: usize = 0;));
    }
    if f.partials.is_some() {
        return custom_pullback(f);
    }
    let mut out = Out::default();
    rev.block(&f.body, &mut out);
    let Out {
        fwd, rev: rsweep, ..
    } = out;
    let rsweep = rsweep.into_iter().rev();

    // Adjoints of the parameters, in order; array parameters' adjoints are the caller's
    // buffers, passed to the backpropagator.
    let mut adj_decls = Vec::new();
    let mut outputs = Vec::new();
    let mut out_tys = Vec::new();
    let mut buffer_params = Vec::new();
    let mut buffer_unwraps = Vec::new();
    let mut declared = HashSet::new();
    for param in &f.params {
        let v = &f.vars[param.var];
        let differentiated = matches!(
            v.kind,
            VarKind::Param {
                differentiated: true,
                ..
            }
        );
        let a = rev.var_adj(param.var);
        match (differentiated, v.ty) {
            (true, Ty::FloatArray(_)) => {
                // The caller's buffer, or zeros here when the caller has nothing to collect.
                declared.insert(a.to_string());
                let ty = shadow_type(&param.ty, true);
                buffer_params.push(quote!(#a: ::core::option::Option<#ty>));
                let id = &v.ident;
                let scratch = mixed(&format!("__scratch{}", buffer_params.len()));
                let buffer = mixed("__buffer");
                if f.is_inout(param.var) {
                    // Callers always pass the buffer of an array they lend `&mut` (the
                    // backpropagator does not keep the parameter to size one).
                    let msg = format!(
                        "the backpropagator of `{}` needs the derivative buffer of `{id}`",
                        f.name
                    );
                    buffer_unwraps.push(quote! {
                        let #a: #ty = match #a {
                            ::core::option::Option::Some(#buffer) => #buffer,
                            ::core::option::Option::None => ::core::panic!(#msg),
                        };
                    });
                    continue;
                }
                buffer_unwraps.push(quote! {
                    let mut #scratch;
                    let #a: #ty = match #a {
                        ::core::option::Option::Some(#buffer) => #buffer,
                        ::core::option::Option::None => {
                            #scratch = {
                                use ::autodiff::__private::ZerosLike as _;
                                #id.zeros_like()
                            };
                            ::autodiff::__private::IntoBuffer::into_buffer(&mut #scratch)
                        }
                    };
                });
            }
            (false, Ty::FloatArray(_)) => {
                let ty = shadow_type(&param.ty, true);
                buffer_params.push(quote!(_: ::core::option::Option<#ty>));
            }
            (true, _) => {
                declared.insert(a.to_string());
                adj_decls.push(quote!(let mut #a = #zero;));
                // `+ 0.0` turns the start value `-0.0` of an untouched adjoint into `0.0`.
                outputs.push(if lanes {
                    quote!(::autodiff::__private::Adjoint::finish(#a))
                } else {
                    quote!(#a + 0.0)
                });
                out_tys.push(adj_scalar.clone());
            }
            (false, _) => {
                outputs.push(quote!(::autodiff::__private::Constant));
                out_tys.push(quote!(::autodiff::__private::Constant));
            }
        }
    }
    for (a, init) in &rev.adj_scopes[0] {
        if declared.insert(a.to_string()) {
            adj_decls.push(quote!(let mut #a = #init;));
        }
    }
    let mut tapes = Vec::new();
    let mut cursors = Vec::new();
    let mut tape_lens = Vec::new();
    // Each tape starts as long as the previous call's (per function, shared by threads), so
    // that repeated calls do not grow it step by step, in storage a previous call on this
    // thread dropped (`Tape`'s pool), so that they do not allocate it afresh either.
    let mut tape = |name: &str, ty: TokenStream, cursor: &str| {
        let (name, cursor) = (format_ident!("{}", name), format_ident!("{}", cursor));
        let last = format_ident!("{}", format!("{name}_LEN").to_uppercase());
        tapes.push(quote! {
            static #last: ::core::sync::atomic::AtomicUsize =
                ::core::sync::atomic::AtomicUsize::new(0);
            let mut #name = ::autodiff::__private::Tape::<#ty>::with_capacity(
                #last.load(::core::sync::atomic::Ordering::Relaxed),
            );
        });
        tape_lens.push(quote!(#last.store(#name.len(), ::core::sync::atomic::Ordering::Relaxed);));
        cursors.push(quote!(let mut #cursor = #name.len();));
    };
    if rev.tape {
        tape("__tape", quote!(f64), "__cur");
    }
    if rev.tape_n {
        tape("__tape_n", quote!(usize), "__cur_n");
    }
    for (stack, cursor) in &rev.back_stacks {
        tapes.push(quote!(let mut #stack = ::std::vec::Vec::new();));
        cursors.push(quote!(let mut #cursor = #stack.len();));
    }

    let (adj_pat, adj_ty) = match f.ret {
        RetShape::Scalar => {
            let a = &ret_adjs[0];
            (quote!(#a), quote!(f64))
        }
        RetShape::Tuple(n) => {
            let tys = std::iter::repeat_n(&adj_scalar, n);
            (quote!((#(#ret_adjs,)*)), quote!((#(#tys,)*)))
        }
        RetShape::Array(n) => {
            let n = crate::api::lit(n);
            (quote!([#(#ret_adjs),*]), quote!([#adj_scalar; #n]))
        }
        RetShape::Unit => (quote!(()), quote!(())),
    };
    // One optional buffer per array parameter, differentiated or not, so that a caller can
    // pass buffers by position without knowing which parameters are `#[constant]`.
    let buffer_tys: Vec<TokenStream> = f
        .params
        .iter()
        .filter(|p| matches!(f.vars[p.var].ty, Ty::FloatArray(_)))
        .map(|p| {
            let ty = shadow_type(&p.ty, true);
            quote!(::core::option::Option<#ty>)
        })
        .collect();
    let name = format_ident!("__{}_pullback", f.name);
    let vis = &f.vis;
    let has_refs = f.params.iter().any(|p| has_reference(&p.ty));
    let mut leading = Vec::new();
    if has_refs {
        leading.push(quote!('ad));
    }
    if lanes {
        leading.push(quote!(#adj_ty_name: ::autodiff::__private::Adjoint));
    }
    let lifetime = f.generics(&leading);
    let bound = pullback_bound(f, lanes.then_some(&adj_ty_name));
    let params = f.params.iter().map(|param| {
        let v = &f.vars[param.var];
        let id = &v.ident;
        // A `&mut` array is lent for the call only: the backpropagator does not borrow it.
        let ty = if f.is_inout(param.var) {
            param.ty.clone()
        } else {
            with_lifetime(&param.ty)
        };
        let m = v.mutable.then(|| quote!(mut));
        quote!(#m #id: #ty)
    });
    let ret_ty = crate::forward::ret_type(f.ret, quote!(f64));
    let value = ret_value(f.ret, rets.iter().map(|r| quote!(#r)).collect());
    let hoisted = &rev.hoisted;
    let mut rev_locals = rev.rev_locals.clone();
    for &a in &rev.plan.restored {
        let id = &f.vars[a].ident;
        rev_locals.push(quote!(let mut #id = #id.to_vec();));
    }
    let doc = format!(
        "Reverse mode of `{}` (generated by `#[differentiate]`): the value, and the \
         backpropagator from output sensitivities to one sensitivity per parameter.",
        f.name
    );
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[inline]
        #[allow(dead_code, non_snake_case, unused_mut, unused_assignments, unused_variables, unused_parens, unreachable_code, clippy::all, clippy::pedantic)]
        #vis fn #name #lifetime(#(#params),*)
            -> (#ret_ty, impl Fn(#adj_ty, #(#buffer_tys),*) -> (#(#out_tys,)*) #bound)
        {
            #(#tapes)*
            #(#hoisted)*
            #(#fwd)*
            #(#tape_lens)*
            (#value, move |#adj_pat: #adj_ty, #(#buffer_params),*| {
                #(#buffer_unwraps)*
                #(#cursors)*
                #(#rev_locals)*
                #(#adj_decls)*
                #(#rsweep)*
                (#(#outputs,)*)
            })
        }
    }
}

/// The bound of a backpropagator's type: `+ 'ad` when it borrows the parameters, and for a
/// function with `&mut` array parameters the lifetimes and parameters it captures, which
/// leave out the `&mut` borrows (the caller reads those arrays while it holds the
/// backpropagator).
pub fn pullback_bound(f: &Function, adjoint: Option<&Ident>) -> Option<TokenStream> {
    let has_refs = f.params.iter().any(|p| has_reference(&p.ty));
    let lifetime = has_refs.then(|| quote!('ad));
    if f.inout.is_empty() {
        return lifetime.map(|l| quote!(+ #l));
    }
    let outlives = lifetime.as_ref().map(|l| quote!(+ #l));
    let captured: Vec<TokenStream> = lifetime
        .into_iter()
        .chain(adjoint.map(|a| quote!(#a)))
        .chain(f.const_args().into_iter().map(|c| quote!(#c)))
        .collect();
    Some(quote!(#outlives + use<#(#captured),*>))
}

/// The pullback of a function with user-supplied partial derivatives.
fn custom_pullback(f: &Function) -> TokenStream {
    let name = format_ident!("__{}_pullback", f.name);
    let vis = &f.vis;
    let params = f.params.iter().map(|param| {
        let id = &f.vars[param.var].ident;
        let ty = &param.ty;
        quote!(#id: #ty)
    });
    let out_tys = f.params.iter().map(|param| {
        if matches!(
            f.vars[param.var].kind,
            VarKind::Param {
                differentiated: true,
                ..
            }
        ) {
            quote!(f64)
        } else {
            quote!(::autodiff::__private::Constant)
        }
    });
    let body = crate::custom::pullback_body(f);
    let rule = crate::custom::rule_struct(f);
    quote! {
        #rule

        #[doc(hidden)]
        #[inline]
        #[allow(dead_code, non_snake_case, clippy::all, clippy::pedantic)]
        #vis fn #name(#(#params),*) -> (f64, impl Fn(f64) -> (#(#out_tys,)*)) {
            #body
        }
    }
}

/// The type of the buffer that receives (or, `mutable: false`, supplies) the derivative of
/// an array parameter of type `ty`: `&[f64]` → `&mut [f64]`, `[f64; N]` → `&mut [f64; N]`,
/// `&Vec<f64>` → `&mut [f64]`, `&[[f64; N]]` → `&mut [[f64; N]]`.
pub fn shadow_type(ty: &syn::Type, mutable: bool) -> TokenStream {
    let inner = match ty {
        syn::Type::Reference(r) => &*r.elem,
        t => t,
    };
    let inner = match inner {
        syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Vec") => {
            let elem = match &p.path.segments.last().map(|s| &s.arguments) {
                Some(syn::PathArguments::AngleBracketed(a)) => match a.args.first() {
                    Some(syn::GenericArgument::Type(t)) => quote!(#t),
                    _ => quote!(f64),
                },
                _ => quote!(f64),
            };
            quote!([#elem])
        }
        t => quote!(#t),
    };
    if mutable {
        quote!(&mut #inner)
    } else {
        quote!(&#inner)
    }
}

pub fn has_reference(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {
            self.0 = true;
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}

/// `ty` with each elided reference lifetime named `'ad`.
pub fn with_lifetime(ty: &syn::Type) -> syn::Type {
    struct Namer;
    impl syn::visit_mut::VisitMut for Namer {
        fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
            if r.lifetime.is_none() {
                r.lifetime = Some(syn::parse_quote!('ad));
            }
            syn::visit_mut::visit_type_reference_mut(self, r);
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Namer, &mut ty);
    ty
}

fn mixed(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

fn exit_code() -> Ident {
    mixed("__exit")
}

/// Exit code of a `return`.
const RETURN: usize = 1;

/// Names adjoints: `__adj_x` for `x`, `__adj_t3` for the temporary `__t3`, with a number
/// appended when two names would meet (a user variable may be called `t3`).
#[derive(Default)]
struct AdjNames {
    by_key: HashMap<String, Ident>,
    used: HashSet<String>,
}

impl AdjNames {
    fn get(&mut self, key: String, base: &Ident) -> Ident {
        if let Some(id) = self.by_key.get(&key) {
            return id.clone();
        }
        let stem = format!("__adj_{}", base.to_string().trim_start_matches('_'));
        let mut name = stem.clone();
        let mut n = 1;
        while !self.used.insert(name.clone()) {
            n += 1;
            name = format!("{stem}_{n}");
        }
        let id = Ident::new(&name, Span::mixed_site());
        self.by_key.insert(key, id.clone());
        id
    }
}

/// Generated statements of one block: the forward sweep in order; the reverse sweep in the
/// order generated (reversed when the block is closed), after `prelude`, which recomputes the
/// block's integers at the start of its reverse.
#[derive(Default)]
struct Out {
    fwd: Vec<TokenStream>,
    rev: Vec<TokenStream>,
    prelude: Vec<TokenStream>,
    /// The prelude restores recorded values, so the reverse must run even with no adjoints.
    must_reverse: bool,
}

impl Out {
    fn fwd_block(&self, head: TokenStream) -> TokenStream {
        let f = &self.fwd;
        quote!(#head { #(#f)* })
    }

    /// The reverse of the block, or nothing if it has no adjoint statements.
    fn rev_stmts(&self) -> Option<TokenStream> {
        if self.rev.is_empty() && !self.must_reverse {
            return None;
        }
        let pre = &self.prelude;
        let r = self.rev.iter().rev();
        Some(quote!(#(#pre)* #(#r)*))
    }
}

/// A value in the forward sweep.
struct Val {
    /// Reads the value now, in the forward sweep.
    now: TokenStream,
    /// Reads the same value later in the same scope of the forward sweep, if it cannot change.
    stable: Option<TokenStream>,
    /// How the reverse sweep reads the value where it handles this operation, when it can
    /// without recording it: a constant, a value captured from outside every loop, an
    /// array element read again.
    rev: Option<TokenStream>,
    /// The adjoint accumulator, for values that carry a derivative.
    adj: Option<Ident>,
}

/// What a recorded value is, for the tape it goes on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    F64,
    Usize,
    Bool,
}

/// One enclosing loop while emitting.
struct LoopCx {
    label: Option<String>,
    /// Exit code of `break` to this loop (`continue` is one more).
    code: usize,
    /// Values to record at the end of each iteration's forward sweep, and so to restore at the
    /// start of its reverse (lengths of arrays declared in the body).
    end_records: Vec<(TokenStream, Ident, Kind)>,
    /// Counters declared in the body: their final value is recorded at the end of each
    /// iteration.
    counters: Vec<Ident>,
    /// The emitter's depth of the body's block.
    body_depth: usize,
    /// Declarations at the top of the body's forward sweep: values set in a nested block that
    /// the end of the iteration records (the length of a vector made in a branch).
    body_decls: Vec<TokenStream>,
}

struct Rev<'a> {
    f: &'a Function,
    p: Printer<'a>,
    counter: usize,
    /// Declarations at the top of the function, for values defined in nested blocks outside
    /// loops (so the backpropagator can capture them).
    hoisted: Vec<TokenStream>,
    /// Adjoints to declare, with their initial value: index 0 at the top of the
    /// backpropagator, index k at the start of the reverse of each iteration of the k-th
    /// enclosing loop.
    adj_scopes: Vec<Vec<(Ident, TokenStream)>>,
    /// Nesting depth: 0 is the function's own block.
    depth: usize,
    loops: Vec<LoopCx>,
    /// The loop level each variable was declared at.
    var_level: HashMap<VarId, usize>,
    /// Integer variables whose value the reverse sweep can compute itself.
    recomputable: HashSet<VarId>,
    adj_names: AdjNames,
    needs_exit: bool,
    tape: bool,
    tape_n: bool,
    /// Vectors of callee backpropagators for calls inside loops, with their cursors.
    back_stacks: Vec<(Ident, Ident)>,
    /// The adjoints' start value.
    zero: TokenStream,
    plan: Plan,
    /// Integer counters the reverse sweep runs backwards (see [`crate::storage`]).
    counters: HashSet<VarId>,
    /// Statements at the start of the backpropagator: copies of the counters and arrays it
    /// changes back.
    rev_locals: Vec<TokenStream>,
    /// Arrays the storage plan meant to fill again in the reverse sweep but whose fill could
    /// not be repeated there: their reads are recorded instead.
    replay_failed: HashSet<VarId>,
    /// Arrays whose adjoint a loop's reverse sweep collects in a local (every access to the
    /// array in the loop reads one element, the same in every iteration).
    adj_accs: HashMap<VarId, Ident>,
    /// Fill loops (by address) whose replay runs inside the reverse of a later loop of the
    /// same block (by address): see [`Self::refill_targets`].
    refill_at: HashMap<usize, usize>,
    /// Replays waiting for the loop they run in (by its address).
    pending_refills: HashMap<usize, Vec<Refill>>,
    /// Pushed vectors made in a nested block of a loop body: the body-level local that follows
    /// their length for the end of the iteration to record.
    pushed_held: HashMap<VarId, Ident>,
    /// Whether a statement after the one being emitted, in the same block, may return, break
    /// or continue: a variable declared without a value then starts at one (see
    /// [`Self::stmt`]), since rustc cannot follow the exit code.
    rest_exits: bool,
}

/// The replay of a fill loop: its variable, its range as written, its stores.
struct Refill {
    var: Ident,
    iter: TokenStream,
    stores: Vec<TokenStream>,
}

impl Refill {
    /// The replay as a loop of its own.
    fn standalone(self) -> TokenStream {
        let Refill { var, iter, stores } = self;
        quote!(for #var in #iter { #(#stores)* })
    }
}

impl Rev<'_> {
    fn fresh(&mut self, prefix: &str) -> Ident {
        self.counter += 1;
        mixed(&format!("__{prefix}{}", self.counter))
    }

    fn loop_level(&self) -> usize {
        self.loops.len()
    }

    fn declare_adj(&mut self, level: usize, a: &Ident, init: TokenStream) {
        let scope = &mut self.adj_scopes[level];
        if !scope.iter().any(|(x, _)| x == a) {
            scope.push((a.clone(), init));
        }
    }

    /// The adjoint of variable `v` (not declared: see [`Self::adj_of_var`]).
    fn var_adj(&mut self, v: VarId) -> Ident {
        self.adj_names.get(format!("v{v}"), &self.f.vars[v].ident)
    }

    fn adj_of_var(&mut self, v: VarId) -> Ident {
        let a = self.var_adj(v);
        let level = self.var_level.get(&v).copied().unwrap_or(0);
        if !matches!(self.f.vars[v].kind, VarKind::Param { .. }) {
            let zero = self.zero.clone();
            self.declare_adj(level, &a, zero);
        }
        a
    }

    fn adj_of_temp(&mut self, id: &Ident) -> Ident {
        let a = self.adj_names.get(format!("t{id}"), id);
        let level = self.loop_level();
        let zero = self.zero.clone();
        self.declare_adj(level, &a, zero);
        a
    }

    /// Defines `pat = value` (a name or a tuple of names, `None` for `_`): a `let` inside loops
    /// and in the function's block, else an assignment to locals declared at the top (so the
    /// backpropagator can capture them).
    fn define(
        &mut self,
        names: &[Option<Ident>],
        inits: &[TokenStream],
        value: TokenStream,
        out: &mut Out,
    ) {
        let pat: Vec<TokenStream> = names
            .iter()
            .map(|n| match n {
                Some(n) => quote!(#n),
                None => quote!(_),
            })
            .collect();
        let pat = if pat.len() == 1 {
            pat[0].clone()
        } else {
            quote!((#(#pat),*))
        };
        if self.depth == 0 || self.loop_level() > 0 {
            out.fwd.push(quote!(let #pat = #value;));
        } else {
            for (n, i) in names.iter().zip(inits) {
                if let Some(n) = n {
                    self.hoisted.push(quote!(let mut #n = #i;));
                }
            }
            out.fwd.push(quote!(#pat = #value;));
        }
    }

    fn define_f64(&mut self, name: &Ident, value: TokenStream, out: &mut Out) {
        if self.depth == 0 || self.loop_level() > 0 {
            // Typed: `let c: f64 = 2.0;` then `c.sqrt()` needs it.
            out.fwd.push(quote!(let #name: f64 = #value;));
        } else {
            self.define(&[Some(name.clone())], &[quote!(0.0_f64)], value, out);
        }
    }

    /// A value that stays valid for the rest of the scope (copied if it may change), and how
    /// the reverse sweep reads it without recording, if it can.
    fn stabilize(&mut self, v: &Val, out: &mut Out) -> (TokenStream, Option<TokenStream>) {
        if let Some(s) = &v.stable {
            return (s.clone(), v.rev.clone());
        }
        let t = self.fresh("t");
        self.define_f64(&t, v.now.clone(), out);
        let rev = v
            .rev
            .clone()
            .or_else(|| (self.loop_level() == 0).then(|| quote!(#t)));
        (quote!(#t), rev)
    }

    /// How the reverse sweep reads `value` (stable in the forward sweep now): by `rev` when
    /// it can, directly when nothing loops, else recorded here and restored by one of `pops`,
    /// which the caller places at the start of this operation's adjoint.
    fn for_reverse(
        &mut self,
        value: TokenStream,
        rev: Option<TokenStream>,
        kind: Kind,
        out: &mut Out,
        pops: &mut Vec<TokenStream>,
    ) -> TokenStream {
        if let Some(r) = rev {
            return r;
        }
        if self.loop_level() == 0 {
            return value;
        }
        let r = self.fresh("r");
        out.fwd.push(self.push(value, kind));
        pops.push(self.pop(&r, kind));
        quote!(#r)
    }

    fn push(&mut self, value: TokenStream, kind: Kind) -> TokenStream {
        match kind {
            Kind::F64 => {
                self.tape = true;
                quote!(__tape.push(#value);)
            }
            Kind::Usize => {
                self.tape_n = true;
                quote!(__tape_n.push(#value);)
            }
            Kind::Bool => {
                self.tape_n = true;
                quote!(__tape_n.push(usize::from(#value));)
            }
        }
    }

    fn pop(&mut self, name: &Ident, kind: Kind) -> TokenStream {
        match kind {
            Kind::F64 => quote!(__cur -= 1; let #name = __tape[__cur];),
            Kind::Usize => quote!(__cur_n -= 1; let #name = __tape_n[__cur_n];),
            Kind::Bool => quote!(__cur_n -= 1; let #name = __tape_n[__cur_n] != 0;),
        }
    }

    /// Records a control decision (`if` flag, `match` arm, trip count) after the construct
    /// ran: a hoisted or captured local outside loops, the tape inside. Returns the name the
    /// reverse sweep reads it by and the statement that restores it there (if any).
    fn record_after(&mut self, name: &Ident, kind: Kind, out: &mut Out) -> Option<TokenStream> {
        if self.loop_level() == 0 {
            return None;
        }
        out.fwd.push(self.push(quote!(#name), kind));
        Some(self.pop(name, kind))
    }

    /// Whether an integer expression can be evaluated again where the reverse sweep handles
    /// the operation it belongs to (counters hold their forward value there).
    fn mirror_expr(&self, e: &Expr) -> bool {
        let mut refs = Vec::new();
        crate::lower::collect_refs(e, &mut refs);
        !contains_call(e)
            && refs
                .iter()
                .all(|v| self.recomputable.contains(v) || self.counters.contains(v))
    }

    /// Whether the reverse sweep can compute the inactive value `e` again where it handles
    /// the operation `e` belongs to, rather than recording it: constants, values captured from
    /// outside loops, counters, array elements the storage plan lets it read again, and
    /// arithmetic on those.
    fn rereadable(&self, e: &Expr) -> bool {
        let vars = &self.f.vars;
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) => true,
            ExprKind::Var(v) => {
                let var = &vars[*v];
                let outside_loops = self.var_level.get(v).copied().unwrap_or(0) == 0;
                (var.ty == Ty::Float && !is_storage(var) && outside_loops)
                    || self.recomputable.contains(v)
                    || self.counters.contains(v)
            }
            ExprKind::Index { var, index } => {
                self.plan.reread.contains(&addr(e))
                    && !self.replay_failed.contains(var)
                    && index.iter().all(|i| self.mirror_expr(i))
            }
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.rereadable(a),
            ExprKind::Binary(_, a, b) => self.rereadable(a) && self.rereadable(b),
            ExprKind::Rule { .. }
            | ExprKind::Call { .. }
            | ExprKind::Opaque { .. }
            | ExprKind::ArrayNew { .. } => false,
        }
    }

    /// Whether `x` and `y` are the same expression of the same values (`q[j] * q[j]`).
    fn same_value(&self, x: &Expr, y: &Expr) -> bool {
        !contains_call(x) && self.p.expr(x, true).to_string() == self.p.expr(y, true).to_string()
    }

    /// Whether an integer expression can be evaluated again in the reverse sweep.
    fn recomputable_expr(&self, e: &Expr) -> bool {
        let mut refs = Vec::new();
        crate::lower::collect_refs(e, &mut refs);
        let calls = contains_call(e);
        !calls && refs.iter().all(|v| self.recomputable.contains(v))
    }

    // ------------------------------------------------------------ statements

    fn block(&mut self, b: &[Stmt], out: &mut Out) {
        self.refill_targets(b);
        for (i, s) in b.iter().enumerate() {
            self.rest_exits = b[i + 1..].iter().any(may_exit);
            self.stmt(s, out);
            let rest = &b[i + 1..];
            if self.needs_exit && !rest.is_empty() && may_exit(s) {
                // The rest of the block runs only if `s` did not return, break or continue.
                let exit = exit_code();
                let flag = self.fresh("b");
                let inner = self.nested(|r, o| r.block(rest, o));
                self.branch(&flag, quote!(#exit == 0), inner, Out::default(), out);
                return;
            }
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self, &mut Out)) -> Out {
        self.depth += 1;
        let mut o = Out::default();
        f(self, &mut o);
        self.depth -= 1;
        o
    }

    /// `if cond { then } else { els }` with the branch recorded for the reverse sweep.
    fn branch(&mut self, flag: &Ident, cond: TokenStream, then: Out, els: Out, out: &mut Out) {
        let (tr, er) = (then.rev_stmts(), els.rev_stmts());
        let (tf, ef) = (&then.fwd, &els.fwd);
        let else_fwd = (!ef.is_empty()).then(|| quote!(else { #(#ef)* }));
        if tr.is_none() && er.is_none() {
            out.fwd.push(quote!(if #cond { #(#tf)* } #else_fwd));
            return;
        }
        self.define(&[Some(flag.clone())], &[quote!(false)], cond, out);
        out.fwd.push(quote!(if #flag { #(#tf)* } #else_fwd));
        let restore = self.record_after(flag, Kind::Bool, out);
        let else_rev = er.map(|e| quote!(else { #e }));
        out.rev.push(quote!(#restore if #flag { #tr } #else_rev));
    }

    fn stmt(&mut self, s: &Stmt, out: &mut Out) {
        let vars = &self.f.vars;
        match s {
            Stmt::LetCall {
                vars: outs,
                call,
                array,
            } => self.let_call(outs, call, *array, out),
            Stmt::Let { var, init } => {
                self.var_level.insert(*var, self.loop_level());
                let v = &vars[*var];
                let id = v.ident.clone();
                match (v.ty, init) {
                    // With `return`/`break` lowered to an exit code, rustc cannot see that a
                    // variable assigned in the branches of `let t = if c { a } else { return };`
                    // is assigned wherever it is read: it starts at a value never read.
                    // Inside a branch (not a loop) the reverse sweep reads the value after the
                    // branch's block has closed: declared before the forward sweep, like the
                    // temporaries of `define`.
                    (Ty::Float, None) if self.depth > 0 && self.loop_level() == 0 => {
                        self.hoisted.push(quote!(let mut #id: f64 = 0.0;));
                    }
                    (Ty::Float, None) if self.needs_exit && self.rest_exits => {
                        out.fwd.push(quote!(let mut #id: f64 = 0.0;));
                    }
                    // Given a start value: with loops and exits lowered to exit codes, rustc may not
                    // see that the value of `let r = loop { .. break v; };` is always assigned.
                    (Ty::Float, None) => {
                        out.fwd.push(quote!(let mut #id: f64 = 0.0;));
                    }
                    (Ty::Float, Some(e))
                        if !v.mutable
                            && self.loop_level() > 0
                            && !is_active(e, vars)
                            && self.recomputable_expr(e) =>
                    {
                        // Data read in a loop (`let xj = x[j];`): the reverse sweep reads it
                        // again rather than recording it.
                        let e = self.p.expr(e, true);
                        out.fwd.push(quote!(let #id: f64 = #e;));
                        out.prelude.push(quote!(let #id: f64 = #e;));
                        self.recomputable.insert(*var);
                    }
                    (Ty::Float, Some(e)) if !v.mutable => {
                        // An immutable float: its value is stable for the reverse sweep.
                        self.lin(e, Some(*var), out);
                    }
                    (Ty::Float, Some(e)) => {
                        let val = self.lin(e, None, out);
                        let now = &val.now;
                        out.fwd.push(quote!(let mut #id: f64 = #now;));
                        if let Some(a) = val.adj {
                            let adj = self.adj_of_var(*var);
                            let zero = &self.zero;
                            out.rev.push(quote!(#a += #adj; #adj = #zero;));
                        }
                    }
                    (Ty::FloatArray(_), Some(e)) => self.let_array(*var, e, out),
                    (_, init) => {
                        let m = v.mutable.then(|| quote!(mut));
                        let ty = v.written_ty.as_ref().map(|t| quote!(: #t));
                        match init {
                            Some(e) if self.plan.counters.contains(var) => {
                                self.counter(*var, e, out);
                            }
                            Some(e) => {
                                let recompute = !v.mutable && self.recomputable_expr(e);
                                let e = self.p.expr(e, false);
                                out.fwd.push(quote!(let #m #id #ty = #e;));
                                if recompute && (self.depth == 0 || self.loop_level() > 0) {
                                    self.recomputable.insert(*var);
                                    if self.loop_level() > 0 {
                                        out.prelude.push(quote!(let #id #ty = #e;));
                                    }
                                }
                            }
                            // Integers and `bool`s have a default; a type of the user's may not.
                            None if (self.needs_exit && self.rest_exits)
                                || (v.mutable && matches!(v.ty, Ty::Int | Ty::Bool)) =>
                            {
                                out.fwd.push(
                                    quote!(let mut #id #ty = ::core::default::Default::default();),
                                )
                            }
                            None => out.fwd.push(quote!(let #m #id #ty;)),
                        }
                    }
                }
            }
            Stmt::Assign {
                var,
                op,
                value,
                span,
            } => self.assign(*var, *op, value, *span, out),
            Stmt::Store { .. } => self.store(s, out),
            Stmt::Push { var, value } => self.push_elem(*var, value, out),
            Stmt::If { cond, then, els } => {
                let c = self.p.expr(cond, false);
                let t = self.nested(|r, o| r.block(then, o));
                let e = self.nested(|r, o| r.block(els, o));
                let flag = self.fresh("b");
                self.branch(&flag, c, t, e, out);
            }
            Stmt::Match { scrutinee, arms } => self.match_(scrutinee, arms, out),
            Stmt::Block(b) => {
                let inner = self.nested(|r, o| r.block(b, o));
                out.fwd.push(inner.fwd_block(quote!()));
                if let Some(r) = inner.rev_stmts() {
                    out.rev.push(quote!({ #r }));
                }
            }
            Stmt::Return { values, .. } => {
                for (i, e) in values.iter().enumerate() {
                    let val = self.lin(e, None, out);
                    let r = mixed(&format!("__ret{i}"));
                    let now = &val.now;
                    out.fwd.push(quote!(#r = #now;));
                    if let Some(a) = val.adj {
                        let ra = mixed(&format!("__adj_ret{i}"));
                        out.rev.push(quote!(#a += #ra;));
                    }
                }
                if self.needs_exit {
                    let exit = exit_code();
                    let code = crate::api::lit(RETURN);
                    out.fwd.push(quote!(#exit = #code;));
                }
            }
            Stmt::Exit { kind, label, .. } => {
                let target = match label {
                    None => self.loops.last(),
                    Some(l) => {
                        let name = l.ident.to_string();
                        self.loops
                            .iter()
                            .rev()
                            .find(|c| c.label.as_deref() == Some(name.as_str()))
                    }
                };
                // Rust itself rejects a `break` outside a loop or to an unknown label.
                let code = crate::api::lit(target.map_or(0, |c| match kind {
                    ExitKind::Break => c.code,
                    ExitKind::Continue => c.code + 1,
                }));
                let exit = exit_code();
                out.fwd.push(quote!(#exit = #code;));
            }
            Stmt::Loop { kind, body, label } => {
                if let Some(arrays) = self.plan.fills.get(&addr(s)) {
                    let arrays = arrays.clone();
                    if let Some(refill) = self.replay_fill(kind, body, &arrays) {
                        match self.refill_at.get(&addr(s)) {
                            Some(&target) => {
                                self.pending_refills.entry(target).or_default().push(refill);
                            }
                            None => out.prelude.push(refill.standalone()),
                        }
                    }
                }
                let refills = self.pending_refills.remove(&addr(s)).unwrap_or_default();
                self.loop_(kind, body, label, refills, out)
            }
            Stmt::Passive(t) => out.fwd.push(t.clone()),
        }
    }

    /// A fill loop of the storage plan (`for j in range { v[j] = value; }` at the start of a
    /// loop body): the reverse of each iteration of that body starts by running it again, so
    /// that its reads see what the forward sweep stored. When the reverse sweep cannot compute
    /// the values there, the arrays' reads are recorded instead.
    fn replay_fill(&mut self, kind: &LoopKind, body: &Block, arrays: &[VarId]) -> Option<Refill> {
        let LoopKind::For {
            var,
            iter,
            range: Some(range),
        } = kind
        else {
            self.replay_failed.extend(arrays);
            return None;
        };
        let bounds = self.recomputable_expr(&range.start) && self.recomputable_expr(&range.end);
        let added = self.recomputable.insert(*var);
        let mut stores = Vec::new();
        let mut ok = bounds;
        for s in loop_body(body) {
            if let Stmt::Store {
                var: a,
                index,
                value,
                ..
            } = s
            {
                if !arrays.contains(a) {
                    // Filled too, but kept by the storage plan's other means.
                    continue;
                }
                ok &= self.replayable(value);
                let id = &self.f.vars[*a].ident;
                let idx = index.iter().map(|i| self.p.expr(i, false));
                let v = self.p.expr(value, true);
                stores.push(quote!(#id #([#idx])* = #v;));
            }
        }
        if added {
            self.recomputable.remove(var);
        }
        if !ok {
            self.replay_failed.extend(arrays);
            return None;
        }
        Some(Refill {
            var: self.f.vars[*var].ident.clone(),
            iter: self.p.expr(iter, false),
            stores,
        })
    }

    /// Where the replays of the fill loops of block `b` run. The replay need only come before
    /// the reverse of the first statement that reads what it fills, so a fill whose later
    /// statements include a loop over the same range, with nothing from there to the end of
    /// the block mentioning the filled arrays, is replayed inside that loop's reverse
    /// (`v[j] = ..` once per iteration of `for j in (0..d).rev() { .. }`): one loop fewer.
    fn refill_targets(&mut self, b: &[Stmt]) {
        if self.needs_exit {
            return;
        }
        for (i, s) in b.iter().enumerate() {
            let Some(arrays) = self.plan.fills.get(&addr(s)) else {
                continue;
            };
            let Stmt::Loop {
                kind: LoopKind::For {
                    range: Some(fill), ..
                },
                ..
            } = s
            else {
                continue;
            };
            for later in b[i + 1..].iter().rev() {
                if mentions_any(later, arrays) {
                    break;
                }
                if let Stmt::Loop {
                    kind:
                        LoopKind::For {
                            var,
                            range: Some(r),
                            ..
                        },
                    label: None,
                    ..
                } = later
                {
                    // The replay reads the loop's variable: `for _` has none.
                    if self.f.vars[*var].ident != "_"
                        && r.inclusive == fill.inclusive
                        && self.same_int(&r.start, &fill.start)
                        && self.same_int(&r.end, &fill.end)
                    {
                        self.refill_at.insert(addr(s), addr(later));
                        break;
                    }
                }
            }
        }
    }

    /// Whether the reverse sweep can evaluate the float `e` again at the start of the reverse
    /// of the loop body it is in, to the same value: constants, floats that never change,
    /// integers it recomputes, and array elements it may read again.
    fn replayable(&self, e: &Expr) -> bool {
        let vars = &self.f.vars;
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) => true,
            ExprKind::Var(v) => {
                let var = &vars[*v];
                match var.ty {
                    Ty::Float => {
                        !is_storage(var) && self.var_level.get(v).copied().unwrap_or(0) == 0
                    }
                    _ => self.recomputable.contains(v),
                }
            }
            ExprKind::Index { index, .. } => {
                self.plan.reread.contains(&addr(e))
                    && index.iter().all(|i| self.recomputable_expr(i))
            }
            ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => self.replayable(a),
            ExprKind::Binary(_, a, b) => self.replayable(a) && self.replayable(b),
            ExprKind::Rule { args, int_arg, .. } => {
                args.iter().all(|a| self.replayable(a))
                    && int_arg.as_ref().is_none_or(|i| self.recomputable_expr(i))
            }
            ExprKind::Opaque { .. } => self.recomputable_expr(e),
            ExprKind::Call { .. } | ExprKind::ArrayNew { .. } => false,
        }
    }

    fn match_(&mut self, scrutinee: &Expr, arms: &[Arm], out: &mut Out) {
        let sc = self.p.expr(scrutinee, false);
        let arm_flag = self.fresh("arm");
        let mut fwd_arms = Vec::new();
        let mut rev_arms = Vec::new();
        let mut any_rev = false;
        for (i, arm) in arms.iter().enumerate() {
            let last = i + 1 == arms.len();
            let i = crate::api::lit(i);
            let inner = self.nested(|r, o| r.block(&arm.body, o));
            let pat = &arm.pat;
            let guard = arm.guard.as_ref().map(|g| {
                let g = self.p.expr(g, false);
                quote!(if #g)
            });
            let fwd = &inner.fwd;
            fwd_arms.push(quote!(#pat #guard => { #arm_flag = #i; #(#fwd)* }));
            let rv = inner.rev_stmts();
            any_rev |= rv.is_some();
            rev_arms.push(if last {
                quote!(_ => { #rv })
            } else {
                quote!(#i => { #rv })
            });
        }
        if self.depth == 0 || self.loop_level() > 0 {
            out.fwd.push(quote!(let mut #arm_flag: usize = 0;));
        } else {
            self.hoisted.push(quote!(let mut #arm_flag: usize = 0;));
        }
        out.fwd.push(quote!(match #sc { #(#fwd_arms)* }));
        if any_rev {
            let restore = self.record_after(&arm_flag, Kind::Usize, out);
            out.rev
                .push(quote!(#restore match #arm_flag { #(#rev_arms)* }));
        }
    }

    fn loop_(
        &mut self,
        kind: &LoopKind,
        body: &Block,
        label: &Option<syn::Lifetime>,
        refills: Vec<Refill>,
        out: &mut Out,
    ) {
        let vars = &self.f.vars;
        self.counter += 1;
        let code = 2 * self.counter + 2;
        let label_name = label.as_ref().map(|l| l.ident.to_string());
        let exits = body.iter().any(may_exit);
        // The reverse sweep walks a plain range backwards when every iteration runs to its
        // end and the bounds can be evaluated again there.
        let range = match kind {
            LoopKind::For {
                var,
                range: Some(r),
                ..
            } if !exits && self.recomputable_expr(&r.start) && self.recomputable_expr(&r.end) => {
                let (s, e) = (self.p.expr(&r.start, false), self.p.expr(&r.end, false));
                let dots = if r.inclusive { quote!(..=) } else { quote!(..) };
                let id = &vars[*var].ident;
                Some((
                    id.clone(),
                    r.reversed,
                    quote!(#s #dots #e),
                    (self.depth == 0 || self.loop_level() > 0).then_some(()),
                ))
            }
            LoopKind::Elements { var, arrays }
                if !exits && arrays.iter().all(|a| self.recomputable.contains(a)) =>
            {
                let len = crate::forward::elements_len(vars, arrays);
                Some((vars[*var].ident.clone(), false, quote!(0..#len), Some(())))
            }
            _ => None,
        };
        // A plain range (or the elements of arrays) left early (`break`, `return`): the reverse
        // sweep walks back the iterations that ran from the recorded count, `start..start + n`
        // (or the end of a reversed range), so the index can be read there like any
        // recomputable integer.
        let counted_walk = match kind {
            LoopKind::For { range: Some(r), .. }
                if range.is_none()
                    && (self.depth == 0 || self.loop_level() > 0)
                    && self.recomputable_expr(if r.reversed { &r.end } else { &r.start }) =>
            {
                let bound = self
                    .p
                    .expr(if r.reversed { &r.end } else { &r.start }, false);
                Some((bound, r.reversed, r.inclusive))
            }
            // The elements of arrays are the range `0..len`.
            LoopKind::Elements { .. }
                if range.is_none() && (self.depth == 0 || self.loop_level() > 0) =>
            {
                Some((quote!(0), false, false))
            }
            _ => None,
        };
        let index_var = match kind {
            LoopKind::For { var, .. } | LoopKind::Elements { var, .. } => Some(*var),
            _ => None,
        };
        if let Some(v) = index_var {
            self.var_level.insert(v, self.loop_level() + 1);
            if range.is_some() || counted_walk.is_some() {
                self.recomputable.insert(v);
            }
        }
        // Bounds of a reversible range that lives in a branch outside loops: evaluate them
        // once, into locals the backpropagator captures.
        let mut range = range;
        let mut bound_defs = Vec::new();
        if let Some((id, reversed, _, None)) = &range {
            let (lo, hi) = (self.fresh("lo"), self.fresh("hi"));
            if let LoopKind::For {
                range: Some(rg), ..
            } = kind
            {
                let (s, e) = (self.p.expr(&rg.start, false), self.p.expr(&rg.end, false));
                self.hoisted
                    .push(quote!(let mut #lo = ::core::default::Default::default();));
                self.hoisted
                    .push(quote!(let mut #hi = ::core::default::Default::default();));
                bound_defs.push(quote!(#lo = #s; #hi = #e;));
                let dots = if rg.inclusive {
                    quote!(..=)
                } else {
                    quote!(..)
                };
                range = Some((id.clone(), *reversed, quote!(#lo #dots #hi), Some(())));
            }
        }
        out.fwd.extend(bound_defs);

        self.loops.push(LoopCx {
            label: label_name,
            code,
            end_records: Vec::new(),
            counters: Vec::new(),
            body_depth: self.depth + 1,
            body_decls: Vec::new(),
        });
        self.adj_scopes.push(Vec::new());
        let accs = self.adjoint_accumulators(kind, body);
        for (a, acc, _) in &accs {
            self.adj_accs.insert(*a, acc.clone());
        }
        let mut inner = self.nested(|r, o| r.block(loop_body(body), o));
        let zero = self.zero.clone();
        let mut acc_decls = Vec::new();
        let mut acc_flushes = Vec::new();
        for (a, acc, index) in &accs {
            self.adj_accs.remove(a);
            let adj = self.var_adj(*a);
            acc_decls.push(quote!(let mut #acc = #zero;));
            acc_flushes.push(quote!(#adj #([#index])* += #acc;));
        }
        let cx = self.loops.pop().expect("pushed above");
        let adj_decls: Vec<TokenStream> = self
            .adj_scopes
            .pop()
            .expect("pushed above")
            .into_iter()
            .map(|(a, init)| quote!(let mut #a = #init;))
            .collect();
        // Values recorded at the end of each iteration, restored first in its reverse: the
        // counters' final values (restored in the body's prelude, in declaration order), then
        // array lengths.
        for id in cx.counters.iter().rev() {
            let value = quote!(::autodiff::__private::TapeInt::to_tape(#id));
            inner.fwd.push(self.push(value, Kind::Usize));
        }
        inner.fwd.splice(0..0, cx.body_decls.iter().cloned());
        let mut restores = Vec::new();
        for (value, _, kind) in &cx.end_records {
            inner.fwd.push(self.push(value.clone(), *kind));
        }
        for (_, name, kind) in cx.end_records.iter().rev() {
            restores.push(self.pop(name, *kind));
        }
        let exit = exit_code();
        let exit_check = exits.then(|| {
            let cont = crate::api::lit(code + 1);
            let code = crate::api::lit(code);
            quote! {
                if #exit != 0 {
                    if #exit == #cont {
                        #exit = 0;
                    } else {
                        if #exit == #code {
                            #exit = 0;
                        }
                        break;
                    }
                }
            }
        });
        // Exits go through the exit code and unlabelled `break`s, so labels are not emitted.
        let body_rev = inner.rev_stmts();
        let body_fwd = &inner.fwd;
        match range {
            Some((id, reversed, r, _)) => {
                let head = match kind {
                    LoopKind::For { iter, .. } => {
                        let it = self.p.expr(iter, false);
                        quote!(for #id in #it)
                    }
                    _ => quote!(for #id in #r),
                };
                out.fwd.push(quote!(#head { #(#body_fwd)* #exit_check }));
                // A fill replayed here stores the same elements in any order.
                let refill: Vec<TokenStream> = refills
                    .into_iter()
                    .map(|Refill { var, stores, .. }| quote!(let #var = #id; #(#stores)*))
                    .collect();
                if body_rev.is_some() || !restores.is_empty() || !refill.is_empty() {
                    let walk = if reversed {
                        quote!(#r)
                    } else {
                        quote!((#r).rev())
                    };
                    out.rev.push(quote! {
                        #(#acc_decls)*
                        for #id in #walk {
                            #(#restores)*
                            #(#adj_decls)*
                            #body_rev
                            #(#refill)*
                        }
                        #(#acc_flushes)*
                    });
                }
            }
            None => {
                // Not walked by its range: the replays run on their own, right after this
                // loop's reverse (pushed first, so they come after it once the block's reverse
                // is turned around).
                out.rev.extend(refills.into_iter().map(Refill::standalone));
                let count = self.fresh("n");
                let head = match kind {
                    LoopKind::For { var, iter, .. } => {
                        let id = &vars[*var].ident;
                        let it = self.p.expr(iter, false);
                        quote!(for #id in #it)
                    }
                    LoopKind::Elements { var, arrays } => {
                        let id = &vars[*var].ident;
                        let len = crate::forward::elements_len(vars, arrays);
                        quote!(for #id in 0..#len)
                    }
                    LoopKind::While { cond } => {
                        let c = self.p.expr(cond, false);
                        quote!(while #c)
                    }
                    LoopKind::Infinite => quote!(loop),
                };
                if self.depth == 0 || self.loop_level() > 0 {
                    out.fwd.push(quote!(let mut #count: usize = 0;));
                } else {
                    self.hoisted.push(quote!(let mut #count: usize = 0;));
                }
                out.fwd.push(quote! {
                    #head {
                        #count += 1;
                        #(#body_fwd)*
                        #exit_check
                    }
                });
                if body_rev.is_some() || !restores.is_empty() {
                    let restore = self.record_after(&count, Kind::Usize, out);
                    let walk = match (&counted_walk, kind) {
                        (
                            Some((b, reversed, inclusive)),
                            LoopKind::For { var, .. } | LoopKind::Elements { var, .. },
                        ) => {
                            let id = &vars[*var].ident;
                            match (reversed, inclusive) {
                                (false, _) => quote!(#id in ((#b)..(#b) + #count).rev()),
                                (true, false) => quote!(#id in (#b) - #count..(#b)),
                                (true, true) => quote!(#id in (#b) + 1 - #count..(#b) + 1),
                            }
                        }
                        _ => quote!(_ in 0..#count),
                    };
                    out.rev.push(quote! {
                        #restore
                        #(#acc_decls)*
                        for #walk {
                            #(#restores)*
                            #(#adj_decls)*
                            #body_rev
                        }
                        #(#acc_flushes)*
                    });
                }
            }
        }
    }

    /// Active arrays that the loop only reads, at one element the loop does not move
    /// (`c[col]` in `for row in col + 1..d { y[row] += l[k] * c[col]; }`): the reverse sweep
    /// sums their adjoint in a local and adds it to the element once, after the loop. Returns
    /// the arrays with the local's name and the element's index as the reverse sweep writes it.
    fn adjoint_accumulators(
        &mut self,
        kind: &LoopKind,
        body: &Block,
    ) -> Vec<(VarId, Ident, Vec<TokenStream>)> {
        let vars = &self.f.vars;
        // Variables that may change from one iteration to the next.
        let mut moving: HashSet<VarId> = HashSet::new();
        match kind {
            LoopKind::For { var, .. } | LoopKind::Elements { var, .. } => {
                moving.insert(*var);
            }
            LoopKind::While { .. } | LoopKind::Infinite => {}
        }
        // Per array: the index of its first read; arrays accessed otherwise are disqualified.
        let mut seen: HashMap<VarId, Option<Vec<&Expr>>> = HashMap::new();
        let mut disqualified: HashSet<VarId> = HashSet::new();
        each_stmt(loop_body(body), &mut |s| {
            match s {
                Stmt::Let { var, .. } => {
                    // An array made in the body (`let k = g(x);`) is a new one each time.
                    moving.insert(*var);
                    disqualified.insert(*var);
                }
                Stmt::LetCall { vars: outs, .. } => {
                    moving.extend(outs.iter().flatten());
                    disqualified.extend(outs.iter().flatten());
                }
                Stmt::Assign { var, .. } => {
                    moving.insert(*var);
                }
                Stmt::Store { var, .. } | Stmt::Push { var, .. } => {
                    disqualified.insert(*var);
                }
                Stmt::Loop { kind, .. } => match kind {
                    LoopKind::For { var, .. } => {
                        moving.insert(*var);
                    }
                    LoopKind::Elements { var, arrays } => {
                        moving.insert(*var);
                        disqualified.extend(arrays);
                    }
                    LoopKind::While { .. } | LoopKind::Infinite => {}
                },
                _ => {}
            }
            for e in stmt_exprs(s) {
                each_expr(e, &mut |x| match &x.kind {
                    ExprKind::Index { var, index } => match seen.get(var) {
                        None => {
                            seen.insert(*var, Some(index.iter().collect()));
                        }
                        Some(Some(prev)) => {
                            let same = prev.len() == index.len()
                                && prev.iter().zip(index).all(|(p, i)| self.same_int(p, i));
                            if !same {
                                disqualified.insert(*var);
                            }
                        }
                        Some(None) => {}
                    },
                    ExprKind::Var(v) => {
                        disqualified.insert(*v);
                    }
                    ExprKind::Call { args, .. } => {
                        for a in args {
                            let mut refs = Vec::new();
                            crate::lower::collect_refs(a, &mut refs);
                            disqualified.extend(refs);
                        }
                    }
                    _ => {}
                });
            }
        });
        let mut accs = Vec::new();
        let mut arrays: Vec<(VarId, Vec<&Expr>)> = seen
            .into_iter()
            .filter_map(|(a, idx)| idx.map(|i| (a, i)))
            .filter(|(a, _)| !disqualified.contains(a))
            .collect();
        arrays.sort_by_key(|(a, _)| *a);
        for (a, index) in arrays {
            let var = &vars[a];
            let fixed = index.iter().all(|i| {
                let mut refs = Vec::new();
                crate::lower::collect_refs(i, &mut refs);
                self.mirror_expr(i) && refs.iter().all(|r| !moving.contains(r))
            });
            if !var.active || !matches!(var.ty, Ty::FloatArray(_)) || !fixed {
                continue;
            }
            if self.adj_accs.contains_key(&a) {
                continue;
            }
            let acc = self.fresh("acc");
            let idx = index.iter().map(|i| self.p.expr(i, false)).collect();
            accs.push((a, acc, idx));
        }
        accs
    }

    /// Whether two integer expressions are written the same way (and so have the same value
    /// where neither's variables change).
    fn same_int(&self, x: &Expr, y: &Expr) -> bool {
        !contains_call(x) && self.p.expr(x, false).to_string() == self.p.expr(y, false).to_string()
    }

    /// `let mut k = start;` for a counter candidate of the storage plan: a counter when the
    /// reverse sweep can restore it (declared in the function's block or a loop body, with a
    /// type it can name or rebuild from `start`).
    fn counter(&mut self, var: VarId, init: &Expr, out: &mut Out) {
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        let written = v.written_ty.clone();
        let ty = written.as_ref().map(|t| quote!(: #t));
        let e = self.p.expr(init, false);
        out.fwd.push(quote!(let mut #id #ty = #e;));
        let top = self.depth == 0 && self.loop_level() == 0;
        let body = self.loops.last().map(|c| c.body_depth) == Some(self.depth);
        let typed = written.is_some() || self.recomputable_expr(init);
        if top {
            self.rev_locals.push(quote!(let mut #id = #id;));
        } else if body && typed {
            self.tape_n = true;
            let value = quote!(__tape_n[__cur_n]);
            let restored = match &written {
                Some(t) => {
                    quote!(let mut #id: #t = ::autodiff::__private::TapeInt::from_tape(#value);)
                }
                None => quote!(let mut #id = ::autodiff::__private::from_tape_like(#e, #value);),
            };
            out.prelude.push(quote!(__cur_n -= 1; #restored));
            out.must_reverse = true;
            self.loops
                .last_mut()
                .expect("inside a loop")
                .counters
                .push(id);
        } else {
            return;
        }
        self.counters.insert(var);
    }

    /// `let mut h = vec![0.0; n];` (or `[0.0; N]`): the array, and its adjoint array of the same
    /// shape, declared where the reverse sweep of its scope starts.
    fn let_array(&mut self, var: VarId, init: &Expr, out: &mut Out) {
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        let m = v.mutable.then(|| quote!(mut));
        if matches!(init.kind, ExprKind::Call { .. }) && is_active(init, &self.f.vars) {
            // `let k = g(x);` of a callee that returns `[f64; N]`.
            self.let_call(&[Some(var)], init, false, out);
            return;
        }
        if self.f.pushed.contains(&var) {
            self.let_pushed(var, out);
            return;
        }
        let ExprKind::ArrayNew { .. } = &init.kind else {
            // Inference only gives arrays to `vec![..; n]` and `[..; N]` initializers.
            let e = self.p.expr(init, false);
            out.fwd.push(quote!(let #m #id = #e;));
            return;
        };
        // `[x; n]` with an `x` that carries a derivative: every element starts as `x`, so
        // `x`'s adjoint receives the sum of the array's adjoints where the array is made.
        let (mut elem, mut rank) = (init, 0);
        while let ExprKind::ArrayNew { elem: inner, .. } = &elem.kind {
            elem = inner;
            rank += 1;
        }
        let elem_val = is_active(elem, &self.f.vars).then(|| self.lin(elem, None, out));
        let e = match &elem_val {
            Some(val) => repeat_array(init, val.now.clone(), None, &self.p),
            None => self.p.expr(init, false),
        };
        out.fwd.push(quote!(let #m #id = #e;));
        if !v.active {
            return;
        }
        let adj = self.var_adj(var);
        let zeros = zero_array(init, self, &id, out);
        let level = self.loop_level();
        self.declare_adj(level, &adj, zeros);
        if let Some(elem_adj) = elem_val.and_then(|v| v.adj) {
            let flat = (1..rank).map(|_| quote!(.flatten()));
            out.rev
                .push(quote!(#elem_adj += #adj.iter()#(#flat)*.sum::<f64>();));
        }
    }

    /// `let mut v = Vec::new();` of a vector grown by `push`. Its adjoint has the vector's
    /// final length (at the end of the function, or of the loop iteration it is made in), and a
    /// count of the elements whose push the reverse sweep has not undone yet.
    fn let_pushed(&mut self, var: VarId, out: &mut Out) {
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        let level = self.loop_level();
        let new = quote!(::std::vec::Vec::new());
        if level == 0 && self.depth > 0 {
            // Made in a branch: declared before the forward sweep, so that the backpropagator
            // sees its final length.
            self.hoisted
                .push(quote!(let mut #id: ::std::vec::Vec<f64> = #new;));
            out.fwd.push(quote!(#id = #new;));
        } else {
            out.fwd
                .push(quote!(let mut #id: ::std::vec::Vec<f64> = #new;));
        }
        if !v.active {
            return;
        }
        let len = if level == 0 {
            quote!(#id.len())
        } else {
            let held = self.fresh("held");
            let len = self.fresh("length");
            let depth = self.depth;
            let cx = self.loops.last_mut().expect("inside a loop");
            if depth > cx.body_depth {
                cx.body_decls.push(quote!(let mut #held: usize = 0;));
                cx.end_records
                    .push((quote!(#held), len.clone(), Kind::Usize));
                self.pushed_held.insert(var, held);
            } else {
                cx.end_records
                    .push((quote!(#id.len()), len.clone(), Kind::Usize));
            }
            quote!(#len)
        };
        let adj = self.var_adj(var);
        let count = self.pushed_count(var);
        self.declare_adj(level, &adj, quote!(::std::vec![0.0_f64; #len]));
        self.declare_adj(level, &count, quote!(#adj.len()));
    }

    /// The count of a pushed vector's elements not yet popped by the reverse sweep.
    fn pushed_count(&mut self, var: VarId) -> Ident {
        self.adj_names
            .get(format!("n{var}"), &format_ident!("__pushed{}", var))
    }

    /// `v.push(value)`: the reverse sweep takes the element's adjoint back to the value.
    fn push_elem(&mut self, var: VarId, value: &Expr, out: &mut Out) {
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        let active = v.active;
        if !matches!(v.ty, Ty::FloatArray(_)) {
            // A vector of data (`idx.push(i)`).
            let e = self.p.expr(value, false);
            out.fwd.push(quote!(#id.push(#e);));
            return;
        }
        let val = self.lin(value, None, out);
        let now = &val.now;
        out.fwd.push(quote!(#id.push(#now);));
        if let Some(held) = self.pushed_held.get(&var) {
            out.fwd.push(quote!(#held = #id.len();));
        }
        if !active {
            return;
        }
        let adj = self.var_adj(var);
        let count = self.pushed_count(var);
        let c = contribution(&val, quote!(#adj[#count]));
        out.rev.push(quote!(#count -= 1; #c));
    }

    fn assign(&mut self, var: VarId, op: Option<BinOp>, value: &Expr, span: Span, out: &mut Out) {
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        if self.counters.contains(&var) {
            let e = self.p.expr(value, false);
            let (step, undo) = match op {
                Some(BinOp::Sub) => (quote!(-=), quote!(+=)),
                _ => (quote!(+=), quote!(-=)),
            };
            out.fwd.push(quote_spanned!(span=> #id #step #e;));
            out.rev.push(quote!(#id #undo #e;));
            return;
        }
        if !(v.ty == Ty::Float && v.active) {
            let e = self.p.expr(value, v.ty == Ty::Float);
            out.fwd.push(match op {
                None => quote_spanned!(span=> #id = #e;),
                Some(op) => {
                    let o = op.assign_tokens();
                    quote_spanned!(span=> #id #o #e;)
                }
            });
            return;
        }
        let adj = self.adj_of_var(var);
        let target = quote!(#id);
        let val = self.lin(value, None, out);
        self.update(target, quote!(#adj), op, val, span, Vec::new(), None, out);
    }

    /// `target op= value` where `target` (a variable or an array element) carries the adjoint
    /// `adj` and `val` is the linearized `value`; `pops` restore the index values `adj` needs.
    /// With `restore` (the element as the reverse sweep names it), the element's old value is
    /// recorded and put back when the reverse sweep reaches this statement.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        target: TokenStream,
        adj: TokenStream,
        op: Option<BinOp>,
        val: Val,
        span: Span,
        mut pops: Vec<TokenStream>,
        restore: Option<TokenStream>,
        out: &mut Out,
    ) {
        let put_back = restore.map(|place| {
            let old = self.fresh("r");
            out.fwd.push(self.push(target.clone(), Kind::F64));
            pops.insert(0, self.pop(&old, Kind::F64));
            quote!(#place = #old;)
        });
        let now = val.now.clone();
        let rev = match op {
            None => {
                out.fwd.push(quote!(#target = #now;));
                let zero = &self.zero;
                match &val.adj {
                    // `y = y`: the value's adjoint is the target's.
                    Some(a) if *a == adj.to_string() => quote!(),
                    Some(a) => quote!(#a += #adj; #adj = #zero;),
                    None => quote!(#adj = #zero;),
                }
            }
            Some(BinOp::Add) => {
                out.fwd.push(quote!(#target += #now;));
                let a = val.adj.as_ref().map(|a| quote!(#a += #adj;));
                quote!(#a)
            }
            Some(BinOp::Sub) => {
                out.fwd.push(quote!(#target -= #now;));
                let a = val.adj.as_ref().map(|a| quote!(#a -= #adj;));
                quote!(#a)
            }
            Some(BinOp::Mul) => {
                let (factor, factor_rev) = self.stabilize(&val, out);
                let old = match &val.adj {
                    Some(_) => {
                        let old = self.fresh("t");
                        self.define_f64(&old, target.clone(), out);
                        Some(old)
                    }
                    None => None,
                };
                out.fwd.push(quote!(#target *= #now;));
                let factor = self.for_reverse(factor, factor_rev, Kind::F64, out, &mut pops);
                let old =
                    old.map(|o| self.for_reverse(quote!(#o), None, Kind::F64, out, &mut pops));
                match val.adj.as_ref().zip(old.as_ref()) {
                    // `y *= y`: the target's adjoint is also the value's, so read it first.
                    Some((a, old)) if *a == adj.to_string() => {
                        let g = self.fresh("g");
                        quote!(let #g = #adj; #adj *= #factor; #a += #g * #old;)
                    }
                    Some((a, old)) => quote!(#a += #adj * #old; #adj *= #factor;),
                    None => quote!(#adj *= #factor;),
                }
            }
            Some(BinOp::Div) => match &val.adj {
                None => {
                    let (divisor, divisor_rev) = self.stabilize(&val, out);
                    out.fwd.push(quote!(#target /= #now;));
                    let divisor = self.for_reverse(divisor, divisor_rev, Kind::F64, out, &mut pops);
                    quote!(#adj /= #divisor;)
                }
                Some(a) => {
                    let (q, da, db) = (self.fresh("t"), self.fresh("d"), self.fresh("d"));
                    self.define(
                        &[Some(q.clone()), Some(da.clone()), Some(db.clone())],
                        &[quote!(0.0_f64), quote!(0.0_f64), quote!(0.0_f64)],
                        quote!(::autodiff::rules::div(#target, #now)),
                        out,
                    );
                    out.fwd.push(quote!(#target = #q;));
                    let da = self.for_reverse(quote!(#da), None, Kind::F64, out, &mut pops);
                    let db = self.for_reverse(quote!(#db), None, Kind::F64, out, &mut pops);
                    if *a == adj.to_string() {
                        // `y /= y`: read the shared adjoint first.
                        let g = self.fresh("g");
                        quote!(let #g = #adj; #adj *= #da; #a += #g * #db;)
                    } else {
                        quote!(#a += #adj * #db; #adj *= #da;)
                    }
                }
            },
            Some(BinOp::Rem) => {
                // d(x % c)/dx = 1: the adjoint passes through unchanged.
                out.fwd.push(quote!(#target %= #now;));
                quote!()
            }
            Some(other) => {
                let o = other.assign_tokens();
                out.fwd.push(quote_spanned!(span=> #target #o #now;));
                quote!()
            }
        };
        let pops = pops.iter().rev();
        out.rev.push(quote!(#(#pops)* #put_back #rev));
    }

    fn store(&mut self, s: &Stmt, out: &mut Out) {
        let Stmt::Store {
            var,
            index,
            op,
            value,
            span,
        } = s
        else {
            return;
        };
        let (var, op, span) = (*var, *op, *span);
        let v = &self.f.vars[var];
        let id = v.ident.clone();
        if !v.active {
            let e = self.p.expr(value, true);
            let o = match op {
                None => quote!(=),
                Some(op) => op.assign_tokens(),
            };
            if !self.plan.restore.contains(&addr(s)) {
                let idx = index.iter().map(|i| self.p.expr(i, false));
                out.fwd.push(quote_spanned!(span=> #id #([#idx])* #o #e;));
                return;
            }
            // A constant array that the reverse sweep reads again: put the element back.
            let mut pops = Vec::new();
            let (fwd_idx, rev_idx) = self.indices(index, out, &mut pops);
            let old = self.fresh("r");
            out.fwd
                .push(self.push(quote!(#id #([#fwd_idx])*), Kind::F64));
            out.fwd
                .push(quote_spanned!(span=> #id #([#fwd_idx])* #o #e;));
            pops.insert(0, self.pop(&old, Kind::F64));
            let pops = pops.iter().rev();
            out.rev.push(quote!(#(#pops)* #id #([#rev_idx])* = #old;));
            return;
        }
        // The value first: its adjoint statements run after the store's, so the indices the
        // store records must be above the value's on the tape.
        let val = self.lin(value, None, out);
        let mut pops = Vec::new();
        let (fwd_idx, rev_idx) = self.indices(index, out, &mut pops);
        let adj = self.var_adj(var);
        let restore = self
            .plan
            .restore
            .contains(&addr(s))
            .then(|| quote!(#id #([#rev_idx])*));
        self.update(
            quote!(#id #([#fwd_idx])*),
            quote!(#adj #([#rev_idx])*),
            op,
            val,
            span,
            pops,
            restore,
            out,
        );
    }

    /// Evaluates array indices for the forward sweep and says how the reverse sweep gets them.
    fn indices(
        &mut self,
        index: &[Expr],
        out: &mut Out,
        pops: &mut Vec<TokenStream>,
    ) -> (Vec<TokenStream>, Vec<TokenStream>) {
        let mut fwd = Vec::new();
        let mut rev = Vec::new();
        for i in index {
            let e = self.p.expr(i, false);
            if self.mirror_expr(i) {
                fwd.push(e.clone());
                rev.push(e);
            } else {
                let ix = self.fresh("ix");
                out.fwd.push(quote!(let #ix: usize = #e;));
                if self.loop_level() > 0 {
                    fwd.push(quote!(#ix));
                    rev.push(self.for_reverse(quote!(#ix), None, Kind::Usize, out, pops));
                } else if self.depth > 0 {
                    let h = self.fresh("ix");
                    self.hoisted.push(quote!(let mut #h: usize = 0;));
                    out.fwd.push(quote!(#h = #ix;));
                    fwd.push(quote!(#ix));
                    rev.push(quote!(#h));
                } else {
                    fwd.push(quote!(#ix));
                    rev.push(quote!(#ix));
                }
            }
        }
        (fwd, rev)
    }

    // ------------------------------------------------------------ expressions

    /// Linearizes `e` into the forward sweep; `name` names the root's result (an immutable
    /// float variable of the user's), otherwise a fresh temporary is made when needed.
    fn lin(&mut self, e: &Expr, name: Option<VarId>, out: &mut Out) -> Val {
        let vars = &self.f.vars;
        if !is_active(e, vars) {
            let now = self.p.expr(e, true);
            // Operands are spliced into `a op b`: keep compound ones whole.
            let now = match &e.kind {
                ExprKind::Lit(_)
                | ExprKind::Path(_)
                | ExprKind::Var(_)
                | ExprKind::Index { .. }
                | ExprKind::Rule { .. }
                | ExprKind::Call { .. } => now,
                _ => quote!((#now)),
            };
            let stable = match &e.kind {
                ExprKind::Lit(_) | ExprKind::Path(_) => true,
                ExprKind::Var(v) => !is_storage(&vars[*v]),
                ExprKind::Index { var, index } => {
                    !vars[*var].mutable
                        && self.recomputable.contains(var)
                        && index.iter().all(|i| self.recomputable_expr(i))
                }
                _ => false,
            };
            let rev = self.rereadable(e).then(|| now.clone());
            if let Some(n) = name {
                let id = vars[n].ident.clone();
                self.define_f64(&id, now, out);
                return Val {
                    now: quote!(#id),
                    stable: Some(quote!(#id)),
                    rev: rev.or_else(|| (self.loop_level() == 0).then(|| quote!(#id))),
                    adj: None,
                };
            }
            return Val {
                stable: stable.then(|| now.clone()),
                now,
                rev,
                adj: None,
            };
        }
        let span = e.span;
        let (res, res_adj) = match name {
            Some(n) => {
                let id = vars[n].ident.clone();
                let a = self.adj_of_var(n);
                (id, a)
            }
            None => {
                if let ExprKind::Var(v) = &e.kind {
                    let var = &vars[*v];
                    let id = var.ident.clone();
                    let adj = self.adj_of_var(*v);
                    let stable = !is_storage(var);
                    let outside_loops = self.var_level.get(v).copied().unwrap_or(0) == 0;
                    return Val {
                        now: quote!(#id),
                        stable: stable.then(|| quote!(#id)),
                        rev: (stable && outside_loops).then(|| quote!(#id)),
                        adj: Some(adj),
                    };
                }
                let t = self.fresh("t");
                let a = self.adj_of_temp(&t);
                (t, a)
            }
        };
        let mut result = Val {
            now: quote!(#res),
            stable: Some(quote!(#res)),
            rev: (self.loop_level() == 0).then(|| quote!(#res)),
            adj: Some(res_adj.clone()),
        };
        let mut pops = Vec::new();
        let rev: TokenStream = match &e.kind {
            ExprKind::Var(_) => {
                let a = self.lin(e, None, out);
                let now = a.now.clone();
                self.define_f64(&res, now, out);
                contribution(&a, quote!(#res_adj))
            }
            ExprKind::Unary(UnOp::Neg, x) => {
                let a = self.lin(x, None, out);
                let now = &a.now;
                self.define_f64(&res, quote!(-#now), out);
                let aa = a.adj.as_ref().map(|aa| quote!(#aa -= #res_adj;));
                quote!(#aa)
            }
            ExprKind::Binary(op @ (BinOp::Add | BinOp::Sub), x, y) => {
                let a = self.lin(x, None, out);
                let b = self.lin(y, None, out);
                let (an, bn) = (&a.now, &b.now);
                let o = op.tokens();
                self.define_f64(&res, quote_spanned!(span=> #an #o #bn), out);
                let aa = a.adj.as_ref().map(|aa| quote!(#aa += #res_adj;));
                let ba = b.adj.as_ref().map(|ba| {
                    if *op == BinOp::Add {
                        quote!(#ba += #res_adj;)
                    } else {
                        quote!(#ba -= #res_adj;)
                    }
                });
                quote!(#aa #ba)
            }
            ExprKind::Binary(BinOp::Mul, x, y) if self.same_value(x, y) => {
                // `x * x`: one operand, one value for the reverse sweep.
                let a = self.lin(x, None, out);
                let sa = a.adj.is_some().then(|| self.stabilize(&a, out));
                let an = &a.now;
                self.define_f64(&res, quote_spanned!(span=> #an * #an), out);
                match (&a.adj, sa) {
                    (Some(aa), Some((v, r))) => {
                        let v = self.for_reverse(v, r, Kind::F64, out, &mut pops);
                        quote!(#aa += #res_adj * (2.0 * #v);)
                    }
                    _ => quote!(),
                }
            }
            ExprKind::Binary(BinOp::Mul, x, y) => {
                let a = self.lin(x, None, out);
                let b = self.lin(y, None, out);
                let sa = b.adj.is_some().then(|| self.stabilize(&a, out));
                let sb = a.adj.is_some().then(|| self.stabilize(&b, out));
                let (an, bn) = (&a.now, &b.now);
                self.define_f64(&res, quote_spanned!(span=> #an * #bn), out);
                let sa = sa.map(|(v, any)| self.for_reverse(v, any, Kind::F64, out, &mut pops));
                let sb = sb.map(|(v, any)| self.for_reverse(v, any, Kind::F64, out, &mut pops));
                let mut rev = Vec::new();
                if let (Some(aa), Some(sb)) = (&a.adj, &sb) {
                    rev.push(quote!(#aa += #res_adj * #sb;));
                }
                if let (Some(ba), Some(sa)) = (&b.adj, &sa) {
                    rev.push(quote!(#ba += #res_adj * #sa;));
                }
                quote!(#(#rev)*)
            }
            ExprKind::Binary(BinOp::Div, x, y) => {
                let a = self.lin(x, None, out);
                let b = self.lin(y, None, out);
                if b.adj.is_none() {
                    let (sb, any) = self.stabilize(&b, out);
                    let (an, bn) = (&a.now, &b.now);
                    self.define_f64(&res, quote_spanned!(span=> #an / #bn), out);
                    let sb = self.for_reverse(sb, any, Kind::F64, out, &mut pops);
                    contribution(&a, quote!(#res_adj / #sb))
                } else {
                    self.rule_call("div", &res, &res_adj, &[a, b], None, span, out, &mut pops)
                }
            }
            ExprKind::Binary(BinOp::Rem, x, y) => {
                let a = self.lin(x, None, out);
                let b = self.lin(y, None, out);
                let (an, bn) = (&a.now, &b.now);
                self.define_f64(&res, quote_spanned!(span=> #an % #bn), out);
                contribution(&a, quote!(#res_adj))
            }
            ExprKind::Rule {
                rule,
                args,
                int_arg,
            } => {
                let vals: Vec<Val> = args.iter().map(|a| self.lin(a, None, out)).collect();
                let int = int_arg.as_ref().map(|i| self.p.expr(i, false));
                self.rule_call(rule.name, &res, &res_adj, &vals, int, span, out, &mut pops)
            }
            ExprKind::Call { path, args } => {
                let res = Results {
                    names: std::slice::from_ref(&res),
                    zeros: &[quote!(0.0_f64)],
                    mutable: &[false],
                    array: false,
                };
                self.call(path, args, &res, quote!(#res_adj), span, out)
            }
            ExprKind::Cast(x, _) => {
                // `x as f64` on an active `f64`: the identity.
                let a = self.lin(x, None, out);
                let now = a.now.clone();
                self.define_f64(&res, now, out);
                contribution(&a, quote!(#res_adj))
            }
            ExprKind::Index { var, index } => {
                let arr = vars[*var].ident.clone();
                let (fwd_idx, rev_idx) = self.indices(index, out, &mut pops);
                self.define_f64(&res, quote!(#arr #([#fwd_idx])*), out);
                if self.loop_level() > 0 && self.rereadable(e) {
                    result.rev = Some(quote!(#arr #([#rev_idx])*));
                }
                match self.adj_accs.get(var) {
                    Some(acc) => quote!(#acc += #res_adj;),
                    None => {
                        let adj = self.var_adj(*var);
                        quote!(#adj #([#rev_idx])* += #res_adj;)
                    }
                }
            }
            ExprKind::Unary(UnOp::Not | UnOp::Test(_), _)
            | ExprKind::Binary(..)
            | ExprKind::Lit(_)
            | ExprKind::Path(_)
            | ExprKind::ArrayNew { .. }
            | ExprKind::Opaque { .. } => {
                // Never active (see `is_active`); inference reports misuse.
                let now = self.p.expr(e, true);
                self.define_f64(&res, now, out);
                quote!()
            }
        };
        let pops = pops.iter().rev();
        out.rev.push(quote!(#(#pops)* #rev));
        result
    }

    /// `let (res, d0, d1, ...) = ::autodiff::rules::name(args...)` and its adjoint statements.
    #[allow(clippy::too_many_arguments)]
    fn rule_call(
        &mut self,
        name: &str,
        res: &Ident,
        res_adj: &Ident,
        args: &[Val],
        int: Option<TokenStream>,
        span: Span,
        out: &mut Out,
        pops: &mut Vec<TokenStream>,
    ) -> TokenStream {
        let f = format_ident!("{}", name, span = span);
        let partials: Vec<Option<Ident>> = args
            .iter()
            .map(|a| a.adj.as_ref().map(|_| self.fresh("d")))
            .collect();
        let mut names = vec![Some(res.clone())];
        names.extend(partials.iter().cloned());
        let inits = vec![quote!(0.0_f64); names.len()];
        let nows = args.iter().map(|a| &a.now);
        let int = int.map(|i| quote!(, #i));
        self.define(
            &names,
            &inits,
            quote_spanned!(span=> ::autodiff::rules::#f(#(#nows),* #int)),
            out,
        );
        let mut rev = Vec::new();
        for (a, d) in args.iter().zip(&partials) {
            if let (Some(aa), Some(d)) = (&a.adj, d) {
                let d = self.for_reverse(quote!(#d), None, Kind::F64, out, pops);
                rev.push(quote!(#aa += #res_adj * #d;));
            }
        }
        quote!(#(#rev)*)
    }

    /// `let (a, b) = g(..);`: the outputs of a callee with several, each an immutable local.
    fn let_call(&mut self, outs: &[Option<VarId>], call: &Expr, array: bool, out: &mut Out) {
        let vars = &self.f.vars;
        let ExprKind::Call { path, args } = &call.kind else {
            // Lowering makes a `LetCall` of calls only.
            return;
        };
        let names: Vec<Ident> = outs
            .iter()
            .map(|o| match o {
                Some(v) => vars[*v].ident.clone(),
                None => Ident::new("_", call.span),
            })
            .collect();
        for v in outs.iter().flatten() {
            self.var_level.insert(*v, self.loop_level());
        }
        if !is_active(call, vars) {
            // Data in, data out: the call as written.
            let e = self.p.expr(call, false);
            let pats = outs.iter().zip(&names).map(|(o, n)| {
                let m = o.is_some_and(|v| vars[v].mutable).then(|| quote!(mut));
                quote!(#m #n)
            });
            out.fwd.push(if array {
                quote!(let [#(#pats),*] = #e;)
            } else {
                quote!(let (#(#pats),*) = #e;)
            });
            return;
        }
        // An output that is an array (`let k = g(x);` of a `g` returning `[f64; N]`) starts as
        // the zeros of the callee's `__g_zeros`, since only the callee knows `N`.
        let zeros: Vec<TokenStream> = outs
            .iter()
            .map(|o| match o {
                Some(v) if matches!(vars[*v].ty, Ty::FloatArray(_)) => {
                    let z = sibling_path(path, "__", "_zeros");
                    quote!(#z())
                }
                _ => quote!(0.0_f64),
            })
            .collect();
        let level = self.loop_level();
        let adjs: Vec<TokenStream> = outs
            .iter()
            .zip(&zeros)
            .map(|(o, zero)| match o {
                Some(v) if matches!(vars[*v].ty, Ty::FloatArray(_)) => {
                    let a = self.var_adj(*v);
                    self.declare_adj(level, &a, zero.clone());
                    quote!(#a)
                }
                Some(v) => {
                    let a = self.adj_of_var(*v);
                    quote!(#a)
                }
                // `0.0`, or `()` for a call made for what it writes (`g(x, &mut h);`).
                None => quote!(::core::default::Default::default()),
            })
            .collect();
        let mutable: Vec<bool> = outs
            .iter()
            .map(|o| o.is_some_and(|v| vars[v].mutable))
            .collect();
        let res = Results {
            names: &names,
            zeros: &zeros,
            mutable: &mutable,
            array,
        };
        let res_adj = if array {
            quote!([#(#adjs),*])
        } else {
            quote!((#(#adjs),*))
        };
        let rev = self.call(path, args, &res, res_adj, call.span, out);
        out.rev.push(rev);
    }

    /// A call of another `#[differentiate]` function through its pullback: its value goes to
    /// `res` (one name per output; `_` for an output nobody reads); the reverse sweep calls the
    /// callee's backpropagator with `res_adj` (one adjoint, or a tuple of them).
    ///
    /// The backpropagator borrows the callee's array arguments. A parameter array outlives it,
    /// but a local array (or `&c` of an array parameter taken by value) does not, and may
    /// change before the reverse sweep: such a call keeps its arguments instead, copying the
    /// arrays, and the reverse sweep calls the pullback on them again (the callee's forward
    /// sweep runs twice).
    fn call(
        &mut self,
        path: &syn::Path,
        args: &[Expr],
        res: &Results,
        res_adj: TokenStream,
        span: Span,
        out: &mut Out,
    ) -> TokenStream {
        let names = res.names;
        let pats: Vec<TokenStream> = names
            .iter()
            .zip(res.mutable)
            .map(|(n, m)| {
                let m = m.then(|| quote!(mut));
                quote!(#m #n)
            })
            .collect();
        let res_pat = match pats.as_slice() {
            [one] if !res.array => one.clone(),
            many if res.array => quote!([#(#many),*]),
            many => quote!((#(#many),*)),
        };
        let vars = &self.f.vars;
        let callee = sibling_path(path, "__", "_pullback");
        let vals: Vec<Option<Val>> = args
            .iter()
            .map(|a| (type_of(a, vars) == Ty::Float).then(|| self.lin(a, None, out)))
            .collect();
        let arg_tokens: Vec<TokenStream> = args
            .iter()
            .zip(&vals)
            .map(|(a, v)| match v {
                Some(v) => v.now.clone(),
                None => self.p.expr(a, false),
            })
            .collect();
        let method = crate::print::is_method_call(path, args, vars);
        // Array arguments get buffers; the backpropagator returns one value per other argument.
        let (buffers, pre, post) = self.call_buffers(args, out);
        let mut acc = Vec::new();
        let mut ds = Vec::new();
        for ((v, a), buffer) in vals.iter().zip(args).zip(&buffers) {
            if buffer.is_some() {
                continue;
            }
            let d = self.fresh("d");
            if let Some(Val { adj: Some(adj), .. }) = v {
                acc.push(quote_spanned!(a.span=> ::autodiff::__private::Accumulate::accumulate(#d, &mut #adj);));
            }
            ds.push(d);
        }
        let pat = ds.iter().map(|d| quote!(#d));
        let buffers = buffers.into_iter().flatten();
        let res_adj = quote!(#res_adj #(, #buffers)*);

        // What the forward sweep keeps for the reverse sweep (`kept`), and how the reverse
        // sweep calls the backpropagator from it.
        let kept = self.fresh("back");
        let snapshots: Vec<Option<(VarId, Option<proc_macro2::Group>)>> =
            args.iter().map(|a| self.snapshot(a)).collect();
        let replay = snapshots.iter().any(Option::is_some);
        // An array lent `&mut` is changed by the call: the forward sweep lends the array
        // itself, the reverse sweep a fresh copy of what it held before.
        let lent: Vec<bool> = args.iter().map(is_mut_borrow).collect();
        let (forward, invoke): (TokenStream, Invoke<'_>) = if replay {
            // `kept` is a tuple of the arguments, arrays copied; the value comes from the
            // function itself.
            let stored = arg_tokens
                .iter()
                .zip(&snapshots)
                .map(|(t, snap)| match snap {
                    Some((v, Some(range))) => {
                        let id = &vars[*v].ident;
                        quote!(#id #range .to_vec())
                    }
                    Some((v, None)) => {
                        let id = &vars[*v].ident;
                        quote!(::core::clone::Clone::clone(&#id))
                    }
                    None => t.clone(),
                });
            let passed = |k: &Ident| -> Vec<TokenStream> {
                snapshots
                    .iter()
                    .zip(&lent)
                    .enumerate()
                    .map(|(i, (snap, &lent))| {
                        let i = syn::Index::from(i);
                        match (snap, lent) {
                            (Some(_), true) => {
                                let copy = mixed(&format!("__lent{}", i.index));
                                quote!(&mut #copy)
                            }
                            (Some((_, Some(_))), false) => quote!(&#k.#i[..]),
                            (Some((_, None)), false) => quote!(&#k.#i),
                            (None, _) => quote!(#k.#i),
                        }
                    })
                    .collect()
            };
            let forward_args: Vec<TokenStream> = passed(&kept)
                .into_iter()
                .zip(&lent)
                .zip(&arg_tokens)
                .map(|((p, &lent), t)| if lent { t.clone() } else { p })
                .collect();
            let value = crate::print::call_tokens(path, forward_args, method, span);
            let forward = quote!(let #kept = (#(#stored,)*); let #res_pat = #value;);
            let (callee, pat) = (callee.clone(), pat.clone().collect::<Vec<_>>());
            let (acc, res_adj) = (acc.clone(), res_adj.clone());
            let b = self.fresh("back");
            let lent_copies: Vec<(Ident, syn::Index)> = lent
                .iter()
                .enumerate()
                .filter(|(_, &l)| l)
                .map(|(i, _)| (mixed(&format!("__lent{i}")), syn::Index::from(i)))
                .collect();
            let invoke = move |k: &Ident| {
                let pull = crate::print::call_tokens(&callee, passed(k), method, span);
                // A fresh copy of what each lent array held before the call, living as long as
                // the backpropagator that may borrow it.
                let copies = lent_copies
                    .iter()
                    .map(|(copy, i)| quote!(let mut #copy = ::core::clone::Clone::clone(&#k.#i);));
                quote! {
                    #(#copies)*
                    let (_, #b) = #pull;
                    let (#(#pat,)*) = #b(#res_adj);
                    #(#acc)*
                }
            };
            (forward, Box::new(invoke))
        } else {
            let value = crate::print::call_tokens(&callee, arg_tokens, method, span);
            let forward = quote!(let (#res_pat, #kept) = #value;);
            let pat: Vec<_> = pat.collect();
            let invoke = move |k: &Ident| {
                quote! {
                    let (#(#pat,)*) = #k(#res_adj);
                    #(#acc)*
                }
            };
            (forward, Box::new(invoke))
        };
        let invoke = move |k: &Ident| {
            let call = invoke(k);
            quote!(#(#pre)* #call #(#post)*)
        };
        if self.loop_level() > 0 {
            let (stack, cursor) = (self.fresh("backs"), self.fresh("bc"));
            self.back_stacks.push((stack.clone(), cursor.clone()));
            out.fwd.push(quote!(#forward #stack.push(#kept);));
            let k = self.fresh("back");
            let call = invoke(&k);
            quote! {
                #cursor -= 1;
                let #k = &#stack[#cursor];
                #call
            }
        } else if self.depth == 0 {
            out.fwd.push(forward);
            invoke(&kept)
        } else {
            // Inside a branch: declared before the forward sweep, set where the call is made.
            let (val, tmp) = (self.fresh("t"), self.fresh("back"));
            for (r, zero) in names.iter().zip(res.zeros) {
                if r != "_" {
                    self.hoisted.push(quote!(let mut #r = #zero;));
                }
            }
            self.hoisted
                .push(quote!(let mut #tmp = ::core::option::Option::None;));
            // The outputs as a value (a zero for `_`), and as the pattern assigned from it.
            let values: Vec<TokenStream> = names
                .iter()
                .zip(res.zeros)
                .map(|(n, zero)| if n == "_" { zero.clone() } else { quote!(#n) })
                .collect();
            let (value, plain) = match names {
                [one] if !res.array => (values[0].clone(), quote!(#one)),
                many if res.array => (quote!([#(#values),*]), quote!([#(#many),*])),
                many => (quote!((#(#values),*)), quote!((#(#many),*))),
            };
            out.fwd.push(quote! {
                let #val = { #forward (#value, #kept) };
                #plain = #val.0;
                #tmp = ::core::option::Option::Some(#val.1);
            });
            let k = self.fresh("back");
            let call = invoke(&k);
            quote! {
                if let ::core::option::Option::Some(#k) = &#tmp {
                    #call
                }
            }
        }
    }

    /// For an array argument the callee's backpropagator could not borrow, how it is copied:
    /// `Some(None)` for the whole array, `Some(Some(range))` for `&w[range]`; `None` for other
    /// arguments (a parameter array borrowed for the whole function, an array passed by value,
    /// a value that is not an array).
    fn snapshot(&self, a: &Expr) -> Option<(VarId, Option<proc_macro2::Group>)> {
        let vars = &self.f.vars;
        let (v, range) = match (array_argument(a, vars), &a.kind) {
            (Ok(Some(found)), _) => found,
            // `&idx` or `&idx[a..b]` of a local of data (a vector of indices).
            (Ok(None), ExprKind::Opaque { tokens, refs }) => {
                let [v] = refs.as_slice() else {
                    return None;
                };
                (*v, borrow_of(tokens, &vars[*v])?)
            }
            _ => return None,
        };
        if matches!(a.kind, ExprKind::Var(_)) || matches!(vars[v].kind, VarKind::Param { .. }) {
            // A parameter is borrowed for the whole function, except an array taken by value.
            let by_value = self
                .f
                .params
                .iter()
                .any(|p| p.var == v && !crate::reverse::has_reference(&p.ty));
            if matches!(a.kind, ExprKind::Var(_)) || !by_value {
                return None;
            }
        }
        Some((v, range))
    }
}

/// How the reverse sweep calls a callee's backpropagator from what the forward sweep kept for
/// it (given by name).
type Invoke<'a> = Box<dyn Fn(&Ident) -> TokenStream + 'a>;

/// The variables a call's outputs are bound to, with the value each starts from when it is
/// declared before the forward sweep, and whether it is `mut`.
struct Results<'a> {
    names: &'a [Ident],
    zeros: &'a [TokenStream],
    mutable: &'a [bool],
    /// Bound by an array pattern, `let [a, b] = g(..);`.
    array: bool,
}

impl Rev<'_> {
    /// The buffers a call's backpropagator takes, one per array argument (`None` for other
    /// arguments), with what the reverse sweep runs before and after the call. An array passed
    /// again (`dot(&v, &v)`) gets a buffer of zeros of its own, added into the array's adjoint
    /// after the call.
    fn call_buffers(
        &mut self,
        args: &[Expr],
        out: &mut Out,
    ) -> (Vec<Option<TokenStream>>, Vec<TokenStream>, Vec<TokenStream>) {
        let vars = &self.f.vars;
        let mut buffers: Vec<Option<TokenStream>> = Vec::new();
        let (mut pre, mut post) = (Vec::new(), Vec::new());
        let mut passed_arrays = Vec::new();
        for a in args {
            let again = match array_argument(a, vars) {
                Ok(Some((v, range))) if vars[v].active => {
                    let again = passed_arrays.contains(&v);
                    passed_arrays.push(v);
                    again.then_some((v, range))
                }
                _ => None,
            };
            let Some((v, range)) = again else {
                buffers.push(self.buffer_arg(a, &mut pre, out));
                continue;
            };
            let adj = self.var_adj(v);
            let range = range.map(|g| self.kept_range(g, &mut pre, out));
            let place = quote!(#adj #range);
            let tmp = self.fresh("again");
            pre.push(quote! {
                let mut #tmp = {
                    use ::autodiff::__private::ZerosLike as _;
                    (#place).zeros_like()
                };
            });
            post.push(quote!(::autodiff::__private::add_from(&mut (#place)[..], &#tmp[..]);));
            buffers.push(Some(quote!(::core::option::Option::Some(
                ::autodiff::__private::IntoBuffer::into_buffer(&mut #tmp)
            ))));
        }
        (buffers, pre, post)
    }

    /// The buffer a callee's backpropagator takes for an array argument (`None` for other
    /// arguments): the caller's adjoint of that array (or of the range passed), or `None` when
    /// it has none. Statements the reverse sweep runs before the call go to `pre`.
    fn buffer_arg(
        &mut self,
        a: &Expr,
        pre: &mut Vec<TokenStream>,
        out: &mut Out,
    ) -> Option<TokenStream> {
        let f = self.f;
        let (var, range) = match array_argument(a, &f.vars) {
            Ok(Some(found)) => found,
            Ok(None) => return None,
            // Inference reports these.
            Err(()) => return Some(quote!(::core::option::Option::None)),
        };
        let v = &f.vars[var];
        if !v.active {
            return Some(quote!(::core::option::Option::None));
        }
        // The adjoint of a parameter is a `&mut` buffer; of a local, an owned array.
        let adj = self.var_adj(var);
        let param = matches!(v.kind, VarKind::Param { .. });
        let place = match (range, param) {
            (Some(g), _) => {
                let g = self.kept_range(g, pre, out);
                quote!(&mut #adj #g)
            }
            (None, true) => quote!(&mut *#adj),
            (None, false) => quote!(&mut #adj),
        };
        Some(quote!(::core::option::Option::Some(
            ::autodiff::__private::IntoBuffer::into_buffer(#place)
        )))
    }

    /// The brackets of a range passed to a callee (`[i..i + n]`), as the reverse sweep reads
    /// them: its bounds are kept from the forward sweep, where the names they read may not
    /// exist (a loop variable the reverse sweep does not walk, a local of a branch).
    fn kept_range(
        &mut self,
        g: proc_macro2::Group,
        pre: &mut Vec<TokenStream>,
        out: &mut Out,
    ) -> TokenStream {
        let Ok(syn::Expr::Range(r)) = syn::parse2::<syn::Expr>(g.stream()) else {
            return quote!(#g);
        };
        let mut keep = |this: &mut Self, bound: &Option<Box<syn::Expr>>| {
            bound.as_ref().map(|b| {
                let name = this.fresh("bound");
                if this.loop_level() > 0 {
                    // Popped in the reverse of the order pushed.
                    out.fwd.push(this.push(quote!(#b), Kind::Usize));
                    pre.insert(0, this.pop(&name, Kind::Usize));
                } else if this.depth > 0 {
                    this.hoisted.push(quote!(let mut #name: usize = 0;));
                    out.fwd.push(quote!(#name = #b;));
                } else {
                    out.fwd.push(quote!(let #name: usize = #b;));
                }
                name
            })
        };
        let start = keep(self, &r.start);
        let end = keep(self, &r.end);
        let limits = &r.limits;
        quote!([#start #limits #end])
    }
}

/// `a.adj += contribution;` when `a` carries a derivative.
fn contribution(a: &Val, c: TokenStream) -> TokenStream {
    match &a.adj {
        Some(aa) => quote!(#aa += #c;),
        None => quote!(),
    }
}

/// An all-zero array of the same shape as the array `id` created by `init`.
fn zero_array(init: &Expr, rev: &mut Rev, id: &Ident, out: &mut Out) -> TokenStream {
    let ExprKind::ArrayNew { vec, .. } = &init.kind else {
        return quote!(0.0_f64);
    };
    if !*vec {
        // `[x; N]`: `N` is a constant.
        return repeat_array(init, quote!(0.0_f64), None, &rev.p);
    }
    // `vec![x; n]`: the length is recorded where the array is made, and read where the
    // reverse sweep of its scope starts.
    let len = rev.fresh("length");
    if rev.loop_level() == 0 {
        if rev.depth == 0 {
            out.fwd.push(quote!(let #len = #id.len();));
        } else {
            rev.hoisted.push(quote!(let mut #len: usize = 0;));
            out.fwd.push(quote!(#len = #id.len();));
        }
    } else {
        // Recorded at the end of the iteration, where a vector made in a nested block (an
        // `if` in the body) no longer exists: its length is kept in the body's scope.
        let held = rev.fresh("held");
        let depth = rev.depth;
        let cx = rev.loops.last_mut().expect("inside a loop");
        if depth > cx.body_depth {
            cx.body_decls.push(quote!(let mut #held: usize = 0;));
            out.fwd.push(quote!(#held = #id.len();));
            cx.end_records
                .push((quote!(#held), len.clone(), Kind::Usize));
        } else {
            cx.end_records
                .push((quote!(#id.len()), len.clone(), Kind::Usize));
        }
    }
    repeat_array(init, quote!(0.0_f64), Some(quote!(#len)), &rev.p)
}

/// `[elem; n]` or `vec![elem; n]`, nested as `init` is, around `elem`; `outer_len` replaces
/// the outermost length.
fn repeat_array(
    init: &Expr,
    elem: TokenStream,
    outer_len: Option<TokenStream>,
    p: &Printer,
) -> TokenStream {
    match &init.kind {
        ExprKind::ArrayNew {
            elem: inner,
            len,
            vec,
        } => {
            let inner = repeat_array(inner, elem, None, p);
            let len = outer_len.unwrap_or_else(|| p.expr(len, false));
            if *vec {
                quote!(::std::vec![#inner; #len])
            } else {
                quote!([#inner; #len])
            }
        }
        _ => elem,
    }
}

/// A variable whose value can change after it is read (so reads are copied when the reverse
/// sweep needs them): mutable ones, and ones declared before they are assigned.
/// Whether statement `s` (or one nested in it) mentions any of `vars`.
fn mentions_any(s: &Stmt, vars: &[VarId]) -> bool {
    let mut found = false;
    each_stmt(std::slice::from_ref(s), &mut |s| {
        if let Stmt::Assign { var, .. } | Stmt::Store { var, .. } | Stmt::Push { var, .. } = s {
            found |= vars.contains(var);
        }
        if let Stmt::Loop {
            kind: LoopKind::Elements { arrays, .. },
            ..
        } = s
        {
            found |= arrays.iter().any(|a| vars.contains(a));
        }
        if let Stmt::Passive(_) = s {
            // Written as is: it may mention anything.
            found = true;
        }
        for e in stmt_exprs(s) {
            let mut refs = Vec::new();
            crate::lower::collect_refs(e, &mut refs);
            found |= refs.iter().any(|v| vars.contains(v));
        }
    });
    found
}

fn is_storage(v: &Var) -> bool {
    v.mutable || v.kind == VarKind::Temp
}

fn contains_call(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call { .. } => true,
        ExprKind::Unary(_, a) | ExprKind::Cast(a, _) => contains_call(a),
        ExprKind::Binary(_, a, b) => contains_call(a) || contains_call(b),
        ExprKind::Rule { args, .. } => args.iter().any(contains_call),
        ExprKind::Index { index, .. } => index.iter().any(contains_call),
        ExprKind::ArrayNew { elem, len, .. } => contains_call(elem) || contains_call(len),
        _ => false,
    }
}

/// Whether `s` may leave its block early: a `return`, or a `break`/`continue` that is not
/// caught by a loop inside `s`.
pub fn may_exit(s: &Stmt) -> bool {
    fn go(s: &Stmt, inner: &mut Vec<Option<String>>) -> bool {
        match s {
            Stmt::Return { .. } => true,
            Stmt::Exit { label, .. } => match label {
                None => inner.is_empty(),
                Some(l) => {
                    let name = l.ident.to_string();
                    !inner.iter().any(|x| x.as_deref() == Some(name.as_str()))
                }
            },
            Stmt::If { then, els, .. } => {
                then.iter().any(|s| go(s, inner)) || els.iter().any(|s| go(s, inner))
            }
            Stmt::Match { arms, .. } => arms.iter().any(|a| a.body.iter().any(|s| go(s, inner))),
            Stmt::Block(b) => b.iter().any(|s| go(s, inner)),
            Stmt::Loop { body, label, .. } => {
                inner.push(label.as_ref().map(|l| l.ident.to_string()));
                let r = body.iter().any(|s| go(s, inner));
                inner.pop();
                r
            }
            _ => false,
        }
    }
    go(s, &mut Vec::new())
}

/// Whether the function needs an exit code: a `break`/`continue`, a `return` inside a loop,
/// or a `return` followed by more statements.
fn needs_exit_code(b: &Block) -> bool {
    fn go(b: &Block, in_loop: bool) -> bool {
        b.iter().enumerate().any(|(i, s)| match s {
            Stmt::Exit { .. } => true,
            Stmt::Return { .. } => in_loop,
            Stmt::If { then, els, .. } => {
                (i + 1 < b.len() && may_exit(s)) || go(then, in_loop) || go(els, in_loop)
            }
            Stmt::Match { arms, .. } => {
                (i + 1 < b.len() && may_exit(s)) || arms.iter().any(|a| go(&a.body, in_loop))
            }
            Stmt::Block(inner) => (i + 1 < b.len() && may_exit(s)) || go(inner, in_loop),
            Stmt::Loop { body, .. } => go(body, true),
            _ => false,
        })
    }
    go(b, false)
}
