"""Legal C++ identifiers for everything the HLS backend names: kernel functions, ports, locals, loop counters.

A user's name is kept when it is legal, and renamed (``v_<name>``, then a number until it is unique) when it
is not. Illegal here means any of:

* a C++ keyword or alternative token (``new``, ``delete``, ``and``, ...), or a name the C++ standard reserves
  (containing ``__``, or ``_`` followed by a capital letter);
* a name of the headers every generated file includes (``std``, ``hls``, ``half``, ``int32_t``, ``size_t``,
  C library functions and macros such as ``abs``, ``NAN``, ``EOF``, ``errno``, and the macro families the C
  standard and POSIX reserve: ``E<capital>``, ``INT..._MAX``, ``FP_...``, ``M_...``, ...);
* one of our own names: the ``dsl_``/``DSL_`` helpers and macros, the ap types' ``ap_``/``AP_``/``SC_``
  names, the top's ``ret<k>`` result ports and ``gmem<k>`` bundles, the XRT names of the host program.

HDL keywords (``out``, ``input``, ``reg``, ``signal``, ...) are legal: AMD's own examples name kernel
arguments ``out`` (Vitis_Accel_Examples ``vadd``: ``sp=vadd_1.out:...`` in the connectivity file) and Vitis
HLS renames the RTL signal itself. Characters other than ASCII letters, digits and ``_`` become ``_``.
"""
from __future__ import annotations

import functools
import re

CPP_KEYWORDS = frozenset("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast continue co_await co_return
co_yield decltype default delete do double dynamic_cast else enum explicit export extern false final float for
friend goto if import inline int long module mutable namespace new noexcept not not_eq nullptr operator or or_eq
override private protected public register reinterpret_cast requires restrict return short signed sizeof static
static_assert static_cast struct switch template this thread_local throw true try typedef typeid typename union
unsigned using virtual void volatile wchar_t while xor xor_eq""".split())

# Names in scope in every generated file: namespaces, types, C library functions and lower-case macros.
LIBRARY_NAMES = frozenset("""std hls half main argc argv size_t ssize_t ptrdiff_t nullptr_t max_align_t FILE
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t intptr_t uintptr_t intmax_t uintmax_t
abs div ldiv labs llabs exit free malloc calloc realloc rand srand qsort bsearch atoi atol atof strtol system
getenv abort exp exp2 expm1 log log2 log10 log1p pow sqrt cbrt hypot sin cos tan sinh cosh tanh asin acos atan
atan2 asinh acosh atanh erf erfc tgamma lgamma floor ceil round lround trunc rint nearbyint fabs fmod remainder
fmin fmax fma fdim copysign nan isnan isinf isfinite isnormal signbit frexp ldexp modf scalbn ilogb logb rsqrt
memcpy memmove memset memcmp strlen strcmp strcpy printf fprintf sprintf snprintf puts fopen fclose fread fwrite
time clock assert errno stdin stdout stderr offsetof alloca setjmp longjmp va_arg va_start va_end va_copy
math_errhandling issubnormal""".split())

# Macro families (upper-case names with these prefixes): the C standard's and POSIX's reserved prefixes, what
# glibc's headers define under _GNU_SOURCE (which g++ sets), the ap types' helper macros, and our own.
_MACRO_PREFIXES = ("INT", "UINT", "SIZE_", "PTRDIFF_", "WCHAR_", "WINT_", "SIG", "FE_", "FP_", "MATH_",
                   "HUGE_VAL", "EXIT_", "RAND_", "FLT_", "DBL_", "LDBL_", "CHAR_", "SCHAR_", "UCHAR_", "SHRT_",
                   "USHRT_", "LONG_", "ULONG_", "LLONG_", "ULLONG_", "MB_", "LC_", "SEEK_", "PRI", "SCN", "TIME_",
                   "TIMER_", "CLOCK", "L_", "P_", "FD_", "CLONE_", "CPU_", "PTHREAD_", "SCHED_", "STA_", "ADJ_",
                   "MOD_", "RENAME_", "MADV_", "MAP_", "PROT_", "MS_", "MCL_", "MFD_", "MREMAP_", "PKEY_",
                   "POSIX_", "CLOSE_RANGE_", "STDIN_", "STDOUT_", "STDERR_", "R_OK", "W_OK", "X_OK", "F_",
                   "SNAN", "OP_", "REF_", "AF_", "ALL_OP", "CONCAT_", "DOUBLE_", "FLOAT_", "HALF_", "AP_",
                   "APFX_", "SC_", "DSL_", "XCL_", "ERT_", "XRT_")
_MACRO_NAMES = frozenset("""NULL EOF NAN INFINITY MAXFLOAT BUFSIZ FILENAME_MAX FOPEN_MAX TMP_MAX CLOCKS_PER_SEC
INLINE BIAS BIG_ENDIAN LITTLE_ENDIAN BYTE_ORDER PDP_ENDIAN WEOF NFDBITS CSIGNAL MAX_MODE BIT_WIDTH_UPPER_LIMIT
TEMP_FAILURE_RETRY WCONTINUED WEXITED WEXITSTATUS WIFCONTINUED WIFEXITED WIFSIGNALED WIFSTOPPED WNOHANG WNOWAIT
WSTOPPED WSTOPSIG WTERMSIG WUNTRACED P_tmpdir L_tmpnam L_ctermid L_cuserid assert_perror be16toh be32toh be64toh
htobe16 htobe32 htobe64 htole16 htole32 htole64 le16toh le32toh le64toh strdupa strndupa sched_priority""".split())
_OUR_PREFIXES = ("dsl_", "ap_", "xrt", "xcl", "ert_", "hls_", "pthread_", "M_")
_PORTS = re.compile(r"(ret|gmem)\d+")  # the top's result ports ret<k> and its m_axi bundles gmem<k>
_ERRNO = re.compile(r"E[0-9A-Z][0-9A-Z_]*")  # <cerrno> reserves E<digit> and E<capital> names


@functools.lru_cache(maxsize=None)  # pure; the emitter asks about the same names tens of thousands of times
def is_legal(name: str) -> bool:
    """A name the generated C++ may use as it is (see the module docstring)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return False
    if "__" in name or re.match(r"_[A-Z]", name) or name in CPP_KEYWORDS or name in LIBRARY_NAMES:
        return False
    if name in _MACRO_NAMES or _PORTS.fullmatch(name) or _ERRNO.fullmatch(name):
        return False
    if name.startswith(_OUR_PREFIXES) or name.lower().startswith(("dsl_", "ap_")):
        return False
    if name.isupper() and name.endswith("_H"):  # include guards
        return False
    return not (name.isupper() and name.startswith(_MACRO_PREFIXES))


def legal_base(hint: str) -> str:
    """``hint`` made legal, without the uniqueness a scope adds (``Names.fresh``)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", hint)
    base = re.sub(r"_{2,}", "_", base)
    if not base.strip("_"):
        return "v"
    if base[0].isdigit() or base[0] == "_" and base[1:2].isupper():
        base = f"v_{base.lstrip('_')}"
    return base if is_legal(base) else f"v_{base.strip('_')}"
