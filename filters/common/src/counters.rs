//! Counter sets declared once: [`counters!`] derives the enum, its `ALL` and
//! each variant's name from one list, so a counter cannot exist without a
//! name, be named without being defined, or be left out of `ALL`. The glue
//! defines a set as `host::Counters<E>` and increments it by variant.

/// A set of counters declared by [`counters!`].
pub trait CounterSet: Copy + 'static {
    /// `[T; N]`, N the number of variants: one value per variant, so a set's
    /// counters are an array (Copy, no allocation per request).
    type Array<T: Copy>: Copy + AsRef<[T]>;
    /// What every name is filed under, e.g. `tollgate.auth.`.
    const PREFIX: &'static str;
    fn name(self) -> &'static str;
    /// The variant's position in `ALL`.
    fn index(self) -> usize;
    /// `f` of every variant, in the order of `ALL`.
    fn each<T: Copy>(f: impl FnMut(Self) -> T) -> Self::Array<T>;
}

/// The full stat name of every variant, in the order of `ALL`.
pub fn stat_names<E: CounterSet>() -> Vec<String> {
    E::each(|e| e)
        .as_ref()
        .iter()
        .map(|e| format!("{}{}", E::PREFIX, e.name()))
        .collect()
}

/// Declares a counter set: `enum Name under "prefix." { Variant = "name", }`
/// (variants may carry doc comments). The enum gets `ALL`, `name()` and
/// [`CounterSet`].
#[macro_export]
macro_rules! counters {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident under $prefix:literal {
            $($(#[$vmeta:meta])* $variant:ident = $stat:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($stat),+].len()] = [$($name::$variant),+];

            /// The variant's name (its counter's, after the set's prefix).
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $stat,)+
                }
            }
        }

        impl $crate::counters::CounterSet for $name {
            type Array<T: Copy> = [T; [$($stat),+].len()];
            const PREFIX: &'static str = $prefix;

            fn name(self) -> &'static str {
                $name::name(self)
            }

            fn index(self) -> usize {
                self as usize
            }

            fn each<T: Copy>(f: impl FnMut(Self) -> T) -> Self::Array<T> {
                $name::ALL.map(f)
            }
        }
    };
}

#[cfg(test)]
mod tests;
