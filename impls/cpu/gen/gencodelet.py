#!/usr/bin/python3
"""gencodelet.py — writes fastfft's straight-line DFT codelets (impls/cpu/fastfft_gen_*.c),
a small genfft: a split-radix DFT built as an expression DAG with its twiddles folded to
constants, common subexpressions shared, zeros of real input folded away, dead code dropped.

  /usr/bin/python3 impls/cpu/gen/gencodelet.py           rewrite the generated files
  /usr/bin/python3 impls/cpu/gen/gencodelet.py --check   exit 1 when they differ from it

The output is committed; tests/test_fastfft.c runs --check, so a hand edit of a generated
file, or a script change without regenerating, fails the tests.
"""
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CPU = os.path.dirname(HERE)
SIZES = (2, 4, 8, 16, 32, 64)      # complex codelets
LEAVES = (4, 8, 16, 32, 64)        # AVX2 codelets over vectors (leaf of Stockham plans)
REAL = (2, 4, 8, 16, 32, 64)       # real-input codelets (rfft of small n)
REAL_V8 = (8, 16, 32, 64)          # their AVX2 form, eight rows per register
ROWS = (16, 32, 64)                # AVX2 complex codelets of one contiguous row
FIRST = (8, 16)                    # AVX2 first passes (s = 1) of a Stockham plan


class Cplx:
    """The complex-level DAG of a split-radix DFT, hash-consed (each distinct expression
    is built once, so a value used twice is computed once)."""

    def __init__(self):
        self.nodes, self.memo = [], {}

    def node(self, *key):
        if key not in self.memo:
            self.memo[key] = len(self.nodes)
            self.nodes.append(key)
        return self.memo[key]

    def mulw(self, a, k, n):
        """a * W_n^k, W_n = e^{-2 pi i / n}, with k reduced; W^0 is no multiply."""
        k %= n
        if k == 0:
            return a
        g = math.gcd(k, n)
        return self.node('mulw', a, k // g, n // g)

    def dft(self, xs):
        n = len(xs)
        if n == 1:
            return list(xs)
        if n == 2:
            return [self.node('add', xs[0], xs[1]), self.node('sub', xs[0], xs[1])]
        u, z, zp = self.dft(xs[0::2]), self.dft(xs[1::4]), self.dft(xs[3::4])
        out = [None] * n
        q = n // 4
        for k in range(q):
            a, b = self.mulw(z[k], k, n), self.mulw(zp[k], 3 * k, n)
            s, d = self.node('add', a, b), self.node('sub', a, b)
            out[k] = self.node('add', u[k], s)
            out[k + 2 * q] = self.node('sub', u[k], s)
            # u + (-i) d and u - (-i) d
            out[k + q] = self.node('addmi', u[k + q], d)
            out[k + 3 * q] = self.node('submi', u[k + q], d)
        return out


def twiddle(k, n):
    """W_n^k = e^{-2 pi i k/n}, with the exact 0 and +-1 of the quarter turns."""
    a = -2.0 * math.pi * k / n
    snap = lambda v: 0.0 if abs(v) < 1e-15 else math.copysign(1.0, v) if abs(abs(v) - 1) < 1e-15 else v
    return snap(math.cos(a)), snap(math.sin(a))


def lit(c):
    t = '%.17g' % c
    if '.' not in t and 'e' not in t:
        t += '.0'
    return t + 'f'


# ---------------------------------------------------------------- real-level lowering

class Real:
    """Real arithmetic on (re, im) pairs with constant folding: zeros vanish, negations
    fold into adds and subtracts, constant factors collect, x*c + y becomes an FMA."""
    ZERO = ('zero',)

    def __init__(self):
        self.nodes, self.memo = [], {}

    def node(self, *key):
        if key not in self.memo:
            self.memo[key] = len(self.nodes)
            self.nodes.append(key)
        return self.memo[key]

    def zero(self):
        return self.node('zero')

    def is_zero(self, a):
        return self.nodes[a] == ('zero',)

    def neg(self, a):
        n = self.nodes[a]
        if n[0] == 'zero':
            return a
        if n[0] == 'neg':
            return n[1]
        return self.node('neg', a)

    def add(self, a, b):
        if self.is_zero(a):
            return b
        if self.is_zero(b):
            return a
        na, nb = self.nodes[a], self.nodes[b]
        if nb[0] == 'neg':
            return self.sub(a, nb[1])
        if na[0] == 'neg':
            return self.sub(b, na[1])
        if a > b:
            a, b = b, a
        return self.node('add', a, b)

    def sub(self, a, b):
        if self.is_zero(b):
            return a
        if self.is_zero(a):
            return self.neg(b)
        na, nb = self.nodes[a], self.nodes[b]
        if nb[0] == 'neg':
            return self.add(a, nb[1])
        if na[0] == 'neg':
            return self.neg(self.add(na[1], b))
        return self.node('sub', a, b)

    def mul(self, c, a):
        # 15 digits name a constant, so cos(pi/4) and -cos(3pi/4) are one multiply; a
        # negative factor is a negation, which the adds and subtracts absorb
        c = float('%.15g' % c)
        if self.is_zero(a) or c == 0.0:
            return self.zero()
        n = self.nodes[a]
        if n[0] == 'neg':
            return self.mul(-c, n[1])
        if c < 0:
            return self.neg(self.mul(-c, a))
        if c == 1.0:
            return a
        return self.node('mul', c, a)

    def lower(self, g, ins):
        """Complex DAG g -> pairs of real nodes; ins maps an input index to its pair."""
        val = []
        for n in g.nodes:
            op = n[0]
            if op == 'in':
                val.append(ins(n[1]))
                continue
            a = val[n[1]]
            if op in ('add', 'sub', 'addmi', 'submi'):
                b = val[n[2]]
            if op == 'add':
                v = (self.add(a[0], b[0]), self.add(a[1], b[1]))
            elif op == 'sub':
                v = (self.sub(a[0], b[0]), self.sub(a[1], b[1]))
            elif op == 'addmi':  # a + (-i) b = (a.re + b.im, a.im - b.re)
                v = (self.add(a[0], b[1]), self.sub(a[1], b[0]))
            elif op == 'submi':
                v = (self.sub(a[0], b[1]), self.add(a[1], b[0]))
            else:  # mulw
                wr, wi = twiddle(n[2], n[3])
                if abs(abs(wr) - abs(wi)) < 1e-15:
                    # (wr, wi) = c (1, +-1)...: two adds and two multiplies
                    c = abs(wr)
                    p, m = self.add(a[0], a[1]), self.sub(a[0], a[1])
                    # re = wr a.re - wi a.im, im = wi a.re + wr a.im
                    if wr > 0 and wi < 0:
                        v = (self.mul(c, p), self.mul(c, self.sub(a[1], a[0])))
                    elif wr > 0 and wi > 0:
                        v = (self.mul(c, m), self.mul(c, p))
                    elif wr < 0 and wi < 0:
                        v = (self.mul(-c, m), self.mul(-c, p))
                    else:
                        v = (self.mul(-c, p), self.mul(c, m))
                elif abs(wr) < 1e-15 or abs(wi) < 1e-15:
                    raise ValueError('trivial twiddle left in the DAG')
                else:
                    v = (self.sub(self.mul(wr, a[0]), self.mul(wi, a[1])),
                         self.add(self.mul(wi, a[0]), self.mul(wr, a[1])))
            val.append(v)
        return val


def emit_real(r, outs, ld, flavour):
    """C statements computing the real nodes that outs (a list of (node, store-template))
    need, in creation order (a topological order). flavour 's' is float arithmetic,
    'v' is __m256. Multiplies used once by an add or subtract become FMAs."""
    live, uses = set(), {}
    stack = [o for o, _ in outs]
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        n = r.nodes[i]
        kids = [n[1], n[2]] if n[0] in ('add', 'sub') else [n[2]] if n[0] == 'mul' else \
            [n[1]] if n[0] == 'neg' else []
        for k in kids:
            uses[k] = uses.get(k, 0) + 1
            stack.append(k)
    fused = set()
    for i in sorted(live):
        n = r.nodes[i]
        if n[0] in ('add', 'sub'):
            for k in (n[1], n[2]):
                if r.nodes[k][0] == 'mul' and uses.get(k, 0) == 1:
                    fused.add(k)
    lines, name = [], {}
    T = 'float' if flavour == 's' else '__m256'

    def ref(i):
        return name[i]

    def mulexpr(k):
        c, a = r.nodes[k][1], r.nodes[k][2]
        return (lit(c), ref(a))

    loaded = set()

    def need(j):  # loads just before their first use, as in emit_vdag
        if r.nodes[j][0] == 'ld' and j not in loaded:
            loaded.add(j)
            name[j] = 't%d' % j
            lines.append('    const %s t%d = %s;' % (T, j, ld(r.nodes[j][1], r.nodes[j][2])))

    for i in sorted(live):
        n = r.nodes[i]
        op = n[0]
        if op == 'ld':
            continue
        for k in ([n[1], n[2]] if op in ('add', 'sub') else [n[2]] if op == 'mul' else
                  [n[1]] if op == 'neg' else []):
            need(k)
            if k in fused:
                need(r.nodes[k][2])
        if i in fused:
            continue
        if op == 'zero':
            e = '0.0f' if flavour == 's' else '_mm256_setzero_ps()'
        elif op == 'ld':
            e = ld(n[1], n[2])
        elif op == 'neg':
            e = '-%s' % ref(n[1]) if flavour == 's' else \
                '_mm256_sub_ps(_mm256_setzero_ps(), %s)' % ref(n[1])
        elif op == 'mul':
            c, a = mulexpr(i)
            e = '%s * %s' % (c, a) if flavour == 's' else \
                '_mm256_mul_ps(_mm256_set1_ps(%s), %s)' % (c, a)
        else:
            a, b = n[1], n[2]
            if flavour == 's':
                # scalar: C11 does not contract a*b+c, so a fused product stays exact
                # to the unfused rounding; written out the same way
                def term(k):
                    return '%s * %s' % mulexpr(k) if k in fused else ref(k)
                e = '%s %s %s' % (term(a), '+' if op == 'add' else '-', term(b))
            else:
                if a in fused and op == 'add':
                    c, x = mulexpr(a)
                    e = '_mm256_fmadd_ps(_mm256_set1_ps(%s), %s, %s)' % (
                        c, x, ref(b) if b not in fused else
                        '_mm256_mul_ps(_mm256_set1_ps(%s), %s)' % mulexpr(b))
                elif b in fused and op == 'add':
                    c, x = mulexpr(b)
                    e = '_mm256_fmadd_ps(_mm256_set1_ps(%s), %s, %s)' % (c, x, ref(a))
                elif b in fused:  # a - c x
                    c, x = mulexpr(b)
                    e = '_mm256_fnmadd_ps(_mm256_set1_ps(%s), %s, %s)' % (
                        c, x, ref(a) if a not in fused else
                        '_mm256_mul_ps(_mm256_set1_ps(%s), %s)' % mulexpr(a))
                elif a in fused:  # c x - b
                    c, x = mulexpr(a)
                    e = '_mm256_fmsub_ps(_mm256_set1_ps(%s), %s, %s)' % (c, x, ref(b))
                else:
                    e = '_mm256_%s_ps(%s, %s)' % (op, ref(a), ref(b))
        name[i] = 't%d' % i
        lines.append('    const %s t%d = %s;' % (T, i, e))
    for o, tmpl in outs:
        need(o)
        lines.append('    ' + tmpl % ref(o) + ';')
    return lines


# ---------------------------------------------------------------- the generated functions

def scalar_complex(n):
    g = Cplx()
    outs = g.dft([g.node('in', j) for j in range(n)])
    r = Real()
    val = r.lower(g, lambda j: (r.node('ld', j, 0), r.node('ld', j, 1)))
    pairs = []
    for k, o in enumerate(outs):
        pairs.append((val[o][0], 'y[%d * os] = %%s' % k))
        pairs.append((val[o][1], 'y[%d * os + 1] = %%s' % k))
    body = emit_real(r, pairs, lambda j, p: 'x[%d * is%s]' % (j, ' + 1' if p else ''), 's')
    head = ['/* y[k os] = sum_j x[j is] W_%d^{jk}: interleaved complex, strides in floats */' % n,
            'static void ffg_dft%d_s(const float *restrict x, size_t is, float *restrict y, '
            'size_t os)' % n, '{']
    return head + body + ['}', '']


def real_codelet(n, flavour):
    """x real: bins 0..n/2 of its DFT. Scalar: y interleaved. Vector: re and im arrays of
    eight rows per register."""
    g = Cplx()
    outs = g.dft([g.node('in', j) for j in range(n)])
    r = Real()
    val = r.lower(g, lambda j: (r.node('ld', j, 0), r.zero()))
    pairs = []
    for k in range(n // 2 + 1):
        o = val[outs[k]]
        if flavour == 's':
            pairs.append((o[0], 'y[%d] = %%s' % (2 * k)))
            pairs.append((o[1], 'y[%d] = %%s' % (2 * k + 1)))
        else:
            pairs.append((o[0], 'yr[%d] = %%s' % k))
            pairs.append((o[1], 'yi[%d] = %%s' % k))
    if flavour == 's':
        body = emit_real(r, pairs, lambda j, p: 'x[%d]' % j, 's')
        head = ['/* y[0..%d) = bins 0..%d of the real x[0..%d), interleaved */' % (n + 2, n // 2, n),
                'static void ffg_r2c%d_s(const float *restrict x, float *restrict y)' % n, '{']
    else:
        body = emit_real(r, pairs, lambda j, p: 'x[%d]' % j, 'v')
        head = ['/* eight rows at once: x[j] holds sample j of each row, yr[k]/yi[k] bin k */',
                'AVX2_FN static void ffg_r2c%d_v8(const __m256 *restrict x, __m256 *restrict yr,'
                % n, '                          __m256 *restrict yi)', '{']
    return head + body + ['}', '']


def emit_vdag(g, outs, load, store=None):
    """AVX2 statements for the complex DAG g on vectors of four interleaved complex
    values (lanes independent); load(j) is the expression of input j. Returns the lines
    and the names of outs. With store(k, name), output k is stored as soon as it is
    computed, so it does not stay live (spilled) to the end."""
    live, stack = set(), list(outs)
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        nd = g.nodes[i]
        if nd[0] != 'in':
            stack.extend([nd[1]] + ([nd[2]] if nd[0] != 'mulw' else []))
    lines, swapped, loaded = [], set(), set()
    # inputs are loaded just before their first use, not all at the top: the inputs of
    # a later sub-transform would otherwise stay live (spilled) through the earlier ones
    def need(j):
        if g.nodes[j][0] == 'in' and j not in loaded:
            loaded.add(j)
            lines.append('    const __m256 c%d = %s;' % (j, load(g.nodes[j][1])))

    for i in sorted(live):
        nd = g.nodes[i]
        op = nd[0]
        if op == 'in':
            if i in outs:
                need(i)
            continue
        need(nd[1])
        if op not in ('mulw',):
            need(nd[2])
        if op in ('add', 'sub'):
            e = '_mm256_%s_ps(c%d, c%d)' % (op, nd[1], nd[2])
        elif op in ('addmi', 'submi'):
            b = nd[2]
            if b not in swapped:
                lines.append('    const __m256 s%d = _mm256_permute_ps(c%d, 0xB1);' % (b, b))
                swapped.add(b)
            # u + (-i) d: (u.re + d.im, u.im - d.re) from s = (d.im, d.re)
            e = ('_mm256_fmsubadd_ps(c%d, one, s%d)' if op == 'addmi' else
                 '_mm256_addsub_ps(c%d, s%d)') % (nd[1], b)
        else:
            wr, wi = twiddle(nd[2], nd[3])
            e = ('_mm256_fmaddsub_ps(c%d, _mm256_set1_ps(%s), _mm256_mul_ps('
                 '_mm256_permute_ps(c%d, 0xB1), _mm256_set1_ps(%s)))') % (nd[1], lit(wr), nd[1], lit(wi))
        lines.append('    const __m256 c%d = %s;' % (i, e))
        if store:
            for k, o in enumerate(outs):
                if o == i:
                    lines.append(store(k, 'c%d' % i))
    if store:
        for k, o in enumerate(outs):
            if g.nodes[o][0] == 'in':
                need(o)
                lines.append(store(k, 'c%d' % o))
    return lines, ['c%d' % o for o in outs]


def avx2_leaf(n):
    """A DFT of n over vectors of four interleaved complex values: lane l of x[j is] is
    element j of transform l, so four transforms run at once (the lanes of a Stockham
    plan's q, or four batch rows)."""
    g = Cplx()
    outs = g.dft([g.node('in', j) for j in range(n)])
    lines, names = emit_vdag(g, outs, lambda j: '_mm256_loadu_ps(x + %d * is)' % j,
                             lambda k, v: '    _mm256_storeu_ps(y + %d * os, %s);' % (k, v))
    head = ['/* four transforms of %d per call: vectors x[j is] in, y[k os] out (floats) */' % n,
            'AVX2_FN static void ffg_leaf%d_v(const float *restrict x, size_t is, float *restrict y,' % n,
            '                        size_t os)', '{',
            '    const __m256 one = _mm256_set1_ps(1.0f);']
    return head + lines + ['}', '']


def avx2_first(r):
    """The first Stockham pass (s = 1) of radix r over four p's per vector:
      y[r p + k] = W_n^{pk} sum_j x[p + j m] W_r^{jk},  n = r m, m % 4 == 0,
    a DFT of r across vectors (lanes p), the twiddles from tw (per block of four p's and
    per k >= 1: the four W^{pk} real parts, each twice, then the imaginary parts), and 4x4
    transposes so that each p's r outputs are contiguous."""
    g = Cplx()
    outs = g.dft([g.node('in', j) for j in range(r)])
    lines, names = emit_vdag(g, outs, lambda j: '_mm256_loadu_ps(x + 2 * (p + %d * m))' % j)
    lines = ['    ' + l for l in lines]
    for k in range(1, r):
        v = names[k]
        lines.append('        const __m256 w%d = _mm256_fmaddsub_ps(%s, _mm256_load_ps(tw + %d),'
                     % (k, v, 16 * (k - 1)))
        lines.append('            _mm256_mul_ps(_mm256_permute_ps(%s, 0xB1), _mm256_load_ps(tw + %d)));'
                     % (v, 16 * (k - 1) + 8))
        names[k] = 'w%d' % k
    for b in range(0, r, 4):
        a = names[b:b + 4]
        lines += ['        {',
                  '            const __m256d u0 = _mm256_unpacklo_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[0], a[1]),
                  '            const __m256d u1 = _mm256_unpackhi_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[0], a[1]),
                  '            const __m256d u2 = _mm256_unpacklo_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[2], a[3]),
                  '            const __m256d u3 = _mm256_unpackhi_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[2], a[3]),
                  '            _mm256_storeu_ps(y + 2 * (%d * p + %d), _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x20)));' % (r, b),
                  '            _mm256_storeu_ps(y + 2 * (%d * p + %d), _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x20)));' % (r, r + b),
                  '            _mm256_storeu_ps(y + 2 * (%d * p + %d), _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x31)));' % (r, 2 * r + b),
                  '            _mm256_storeu_ps(y + 2 * (%d * p + %d), _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x31)));' % (r, 3 * r + b),
                  '        }']
    head = ['/* the first pass of radix %d: m %% 4 == 0, tw %d floats per block of four p */'
            % (r, 16 * (r - 1)),
            'AVX2_FN static void ffg_first%d_v(const float *restrict x, float *restrict y,' % r,
            '                                const float *restrict tw, size_t m)', '{',
            '    const __m256 one = _mm256_set1_ps(1.0f);',
            '    for (size_t p = 0; p < m; p += 4, tw += %d) {' % (16 * (r - 1))]
    return head + lines + ['    }', '}', '']


def avx2_row(n):
    """One transform of n = 4m inside a row: vector j holds x[4j..4j+3] (lanes p), a DFT
    of m across the vectors, the twiddles W_n^{p k1} lane by lane, 4x4 transposes, and a
    DFT of 4 across vectors puts X[k1 + m k2] in natural order:
      X[k1 + m k2] = sum_p W_4^{p k2} W_n^{p k1} sum_j x[4j + p] W_m^{j k1}."""
    m = n // 4
    g = Cplx()
    outs = g.dft([g.node('in', j) for j in range(m)])
    lines, names = emit_vdag(g, outs, lambda j: '_mm256_loadu_ps(x + %d)' % (8 * j))
    for k1 in range(1, m):
        w = [twiddle(p * k1, n) for p in range(4)]
        wr = ', '.join(lit(c) for p in range(4) for c in (w[p][0], w[p][0]))
        wi = ', '.join(lit(c) for p in range(4) for c in (w[p][1], w[p][1]))
        v = names[k1]
        lines.append('    const __m256 w%d = _mm256_fmaddsub_ps(%s, _mm256_setr_ps(%s),' % (k1, v, wr))
        lines.append('        _mm256_mul_ps(_mm256_permute_ps(%s, 0xB1), _mm256_setr_ps(%s)));'
                     % (v, wi))
        names[k1] = 'w%d' % k1
    for b in range(0, m, 4):
        a = names[b:b + 4]
        lines += ['    {',
                  '        const __m256d u0 = _mm256_unpacklo_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[0], a[1]),
                  '        const __m256d u1 = _mm256_unpackhi_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[0], a[1]),
                  '        const __m256d u2 = _mm256_unpacklo_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[2], a[3]),
                  '        const __m256d u3 = _mm256_unpackhi_pd(_mm256_castps_pd(%s), _mm256_castps_pd(%s));' % (a[2], a[3]),
                  '        const __m256 q0 = _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x20));',
                  '        const __m256 q1 = _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x20));',
                  '        const __m256 q2 = _mm256_castpd_ps(_mm256_permute2f128_pd(u0, u2, 0x31));',
                  '        const __m256 q3 = _mm256_castpd_ps(_mm256_permute2f128_pd(u1, u3, 0x31));',
                  '        const __m256 t0 = _mm256_add_ps(q0, q2), t1 = _mm256_sub_ps(q0, q2);',
                  '        const __m256 t2 = _mm256_add_ps(q1, q3);',
                  '        const __m256 t3 = _mm256_permute_ps(_mm256_sub_ps(q1, q3), 0xB1);',
                  '        _mm256_storeu_ps(y + %d, _mm256_add_ps(t0, t2));' % (2 * b),
                  '        _mm256_storeu_ps(y + %d, _mm256_fmsubadd_ps(t1, one, t3));' % (2 * (b + m)),
                  '        _mm256_storeu_ps(y + %d, _mm256_sub_ps(t0, t2));' % (2 * (b + 2 * m)),
                  '        _mm256_storeu_ps(y + %d, _mm256_addsub_ps(t1, t3));' % (2 * (b + 3 * m)),
                  '    }']
    head = ['/* one transform of %d, contiguous interleaved complex x -> y */' % n,
            'AVX2_FN static void ffg_row%d_v(const float *restrict x, float *restrict y)' % n, '{',
            '    const __m256 one = _mm256_set1_ps(1.0f);']
    return head + lines + ['}', '']


def lookup(proto, fmt, sizes):
    out = ['/* the codelet of size n, NULL when there is none */', proto, '{', '    switch (n) {']
    for n in sizes:
        out.append('    case %d:' % n)
        out.append('        return ' + fmt % n + ';')
    return out + ['    default:', '        return NULL;', '    }', '}', '']


BANNER = '/* %s — generated by impls/cpu/gen/gencodelet.py (do not edit; rerun the script):\n' \
         ' * %s\n * Split radix, twiddles folded to constants, shared subexpressions computed once. */\n'


def scalar_file():
    out = [(BANNER % ('fastfft_gen_scalar.c', 'portable straight-line codelets, complex n = 2..64 '
                      'and real-input n = 2..64.')).rstrip('\n'),
           '#include <stddef.h>', '', '#include "fastfft_internal.h"', '']
    for n in SIZES:
        out += scalar_complex(n)
    for n in REAL:
        out += real_codelet(n, 's')
    out += lookup('ffg_cfn ffg_dft_s(size_t n)', 'ffg_dft%d_s', SIZES)
    out += lookup('ffg_rfn ffg_r2c_s(size_t n)', 'ffg_r2c%d_s', REAL)
    return '\n'.join(out).rstrip('\n') + '\n'


def avx2_file():
    out = [(BANNER % ('fastfft_gen_avx2.c', 'AVX2+FMA codelets: complex DFTs over vectors of four '
                      'transforms (n = 4..64),\n * complex DFTs of one row (n = 16..64),\n * real-input DFTs of eight rows per register '
                      '(n = 8..64). Compiled with a target attribute.')).rstrip('\n'),
           '#include <stddef.h>', '', '#include "fastfft_internal.h"', '',
           '#if defined(__x86_64__) || defined(__i386__)', '#include <immintrin.h>', '',
           '/* fastfft_gen_wide.c compiles this file again with another target and names */',
           '#ifndef FFG_TARGET', '#define FFG_TARGET "avx2,fma"', '#define FFG(name) name', '#endif',
           '#define AVX2_FN __attribute__((target(FFG_TARGET)))', '']
    for n in LEAVES:
        out += avx2_leaf(n)
    for n in ROWS:
        out += avx2_row(n)
    for r in FIRST:
        out += avx2_first(r)
    for n in REAL_V8:
        out += real_codelet(n, 'v')
    out += lookup('ffg_cfn FFG(ffg_leaf_v)(size_t n)', 'ffg_leaf%d_v', LEAVES)
    out += lookup('ffg_rfn FFG(ffg_row_v)(size_t n)', 'ffg_row%d_v', ROWS)
    out += lookup('ffg_pfn FFG(ffg_first_v)(size_t n)', 'ffg_first%d_v', FIRST)
    out += lookup('ffg_r2c_v8_fn FFG(ffg_r2c_v8)(size_t n)', 'ffg_r2c%d_v8', REAL_V8)
    out += ['#else /* not x86: no vector codelets */', '',
            'ffg_cfn ffg_leaf_v(size_t n)', '{', '    (void)n;', '    return NULL;', '}', '',
            'ffg_rfn ffg_row_v(size_t n)', '{', '    (void)n;', '    return NULL;', '}', '',
            'ffg_pfn ffg_first_v(size_t n)', '{', '    (void)n;', '    return NULL;', '}', '',
            '#endif']
    return '\n'.join(out) + '\n'


def main():
    files = {os.path.join(CPU, 'fastfft_gen_scalar.c'): scalar_file(),
             os.path.join(CPU, 'fastfft_gen_avx2.c'): avx2_file()}
    check = '--check' in sys.argv[1:]
    stale = []
    for path, text in files.items():
        try:
            with open(path) as f:
                same = f.read() == text
        except OSError:
            same = False
        if check:
            if not same:
                stale.append(path)
        elif not same:
            with open(path, 'w') as f:
                f.write(text)
    if stale:
        sys.stderr.write('gencodelet: stale, rerun impls/cpu/gen/gencodelet.py: %s\n'
                         % ' '.join(stale))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
