//! The elementary functions the macro recognises, by method name.
//!
//! Each entry names a function of `autodiff::rules` (the runtime's rule table) that returns the
//! value and one partial derivative per float argument. The macro knows only names and arities;
//! the mathematics lives once, in the runtime.

/// One elementary function.
pub struct Rule {
    /// Method name (`x.sin()`, `f64::sin(x)`) and name in `autodiff::rules`.
    pub name: &'static str,
    /// Number of float arguments, the receiver included.
    pub float_args: usize,
    /// Takes an extra integer argument (`powi`).
    pub int_arg: bool,
}

const fn unary(name: &'static str) -> Rule {
    Rule {
        name,
        float_args: 1,
        int_arg: false,
    }
}

const fn nary(name: &'static str, float_args: usize) -> Rule {
    Rule {
        name,
        float_args,
        int_arg: false,
    }
}

pub static RULES: &[Rule] = &[
    unary("recip"),
    unary("sin"),
    unary("cos"),
    unary("tan"),
    unary("asin"),
    unary("acos"),
    unary("atan"),
    unary("sinh"),
    unary("cosh"),
    unary("tanh"),
    unary("asinh"),
    unary("acosh"),
    unary("atanh"),
    unary("exp"),
    unary("exp2"),
    unary("exp_m1"),
    unary("ln"),
    unary("log2"),
    unary("log10"),
    unary("ln_1p"),
    unary("sqrt"),
    unary("cbrt"),
    unary("abs"),
    unary("signum"),
    unary("floor"),
    unary("ceil"),
    unary("round"),
    unary("trunc"),
    unary("fract"),
    unary("to_degrees"),
    unary("to_radians"),
    Rule {
        name: "powi",
        float_args: 1,
        int_arg: true,
    },
    nary("powf", 2),
    nary("atan2", 2),
    nary("log", 2),
    nary("hypot", 2),
    nary("min", 2),
    nary("max", 2),
    nary("mul_add", 3),
    nary("clamp", 3),
    nary("copysign", 2),
];

/// The rule called `name`, if the table has one.
pub fn lookup(name: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.name == name)
}

/// Float methods that exist on `f64` but have no derivative rule here, with what to do.
pub fn unsupported_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "sin_cos" => "call `.sin()` and `.cos()` separately",
        "rem_euclid" => "write it with `%` (`let r = a % b;`, plus `b.abs()` when `r < 0.0`)",
        "div_euclid" => "write it with `/` and `.floor()` (`(a / b).floor()` for a positive `b`)",
        "total_cmp" | "partial_cmp" => "compare with `<`, `>` in a condition",
        _ => return None,
    })
}
