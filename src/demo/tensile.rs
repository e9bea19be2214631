//! demo-tensile's upstream tree: a C++ library of generated kernels, like
//! Tensile's for rocBLAS. Each of the [`TENSILE_KERNELS`] files
//! instantiates three fully unrolled tile products (a fold expression over
//! M·N·K multiply-adds), so the build is dominated by g++ working through
//! templates — what ccache saves on a rebuild. `make check` compares every
//! kernel against a plain triple loop.

use super::{File, TENSILE_KERNELS, file, version_number};

/// (element bits, M, N, K) of one instantiated tile product.
type Shape = (u32, u32, u32, u32);

/// The three tile products of kernel `i`: fixed shapes, K varying.
fn shapes(i: usize) -> [Shape; 3] {
    let k = |n: usize| 4 + (n % 8) as u32;
    [(32, 8, 8, k(i)), (64, 8, 4, k(i / 8)), (32, 4, 8, k(i * 3))]
}

fn element(bits: u32) -> &'static str {
    if bits == 64 {
        "std::uint64_t"
    } else {
        "std::uint32_t"
    }
}

const MAKEFILE: &str = "# libdemotensile.a: generated tile kernels of the demo stack (like Tensile's).
PREFIX ?= /usr
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

KERNELS := $(sort $(wildcard src/kernels/*.cpp))
OBJS := $(KERNELS:.cpp=.o) src/table.o

all: libdemotensile.a

%.o: %.cpp include/demo/tensile.h src/tensile_impl.hpp
\t$(CXX) $(CPPFLAGS) $(CXXFLAGS) -Iinclude -Isrc -c -o $@ $<

libdemotensile.a: $(OBJS)
\t$(AR) rcs $@ $(OBJS)

check: all
\t$(CXX) $(CPPFLAGS) $(CXXFLAGS) -Iinclude -Isrc -o test-tensile tests/test.cpp libdemotensile.a $(LDFLAGS)
\t./test-tensile

install: all
\tinstall -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/demo
\tinstall -m 644 libdemotensile.a $(DESTDIR)$(LIBDIR)/
\tinstall -m 644 include/demo/tensile.h $(DESTDIR)$(INCLUDEDIR)/demo/

clean:
\trm -f src/kernels/*.o src/*.o *.a test-tensile

.PHONY: all check install clean
";

const IMPL: &str = "// Tile products of demo-tensile, instantiated by the generated kernels.
#ifndef DEMO_TENSILE_IMPL_HPP
#define DEMO_TENSILE_IMPL_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace demo_tensile {

template <typename T, std::size_t M, std::size_t N, std::size_t K>
struct Tile {
    std::array<T, M * K> a{};
    std::array<T, K * N> b{};
    std::array<T, M * N> c{};

    // One multiply-add per (i, j, k), unrolled at compile time.
    template <std::size_t... I>
    void mac(std::index_sequence<I...>) {
        ((c[(I / (N * K)) * N + (I / K) % N] +=
          a[(I / (N * K)) * K + I % K] * b[(I % K) * N + (I / K) % N]),
         ...);
    }
};

inline std::uint64_t a_at(std::uint64_t seed, std::size_t tile, std::size_t i) {
    return (seed + tile * 31 + i * 7) % 97;
}

inline std::uint64_t b_at(std::uint64_t seed, std::size_t tile, std::size_t i) {
    return (seed + tile * 17 + i * 5) % 89;
}

// C += A * B over `tiles` tiles of deterministic data; the sum of C.
template <typename T, std::size_t M, std::size_t N, std::size_t K>
std::uint64_t gemm(std::uint64_t seed, std::size_t tiles) {
    Tile<T, M, N, K> t;
    for (std::size_t n = 0; n < tiles; ++n) {
        for (std::size_t i = 0; i < M * K; ++i)
            t.a[i] = static_cast<T>(a_at(seed, n, i));
        for (std::size_t i = 0; i < K * N; ++i)
            t.b[i] = static_cast<T>(b_at(seed, n, i));
        t.mac(std::make_index_sequence<M * N * K>{});
    }
    std::uint64_t sum = 0;
    for (T v : t.c)
        sum += v;
    return sum;
}

// The same product as a plain loop: what the tests compare against.
inline std::uint64_t gemm_reference(std::size_t m, std::size_t n, std::size_t k,
                                    std::uint64_t seed, std::size_t tiles) {
    std::uint64_t sum = 0;
    for (std::size_t t = 0; t < tiles; ++t)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
                for (std::size_t p = 0; p < k; ++p)
                    sum += a_at(seed, t, i * k + p) * b_at(seed, t, p * n + j);
    return sum;
}

}  // namespace demo_tensile

#endif
";

const TEST: &str = "#include <cstdio>
#include <demo/tensile.h>
#include \"tensile_impl.hpp\"

int main() {
    using namespace demo_tensile;
    int failed = 0;
    for (std::size_t i = 0; i < kernel_count(); ++i) {
        const Kernel &k = kernel(i);
        std::uint64_t want = 0;
        for (const Shape &s : k.shapes)
            want += gemm_reference(s.m, s.n, s.k, i, 3);
        std::uint64_t got = k.run(i, 3);
        if (got != want) {
            std::fprintf(stderr, \"FAIL: %s: %llu != %llu\\n\", k.name,
                         (unsigned long long)got, (unsigned long long)want);
            failed = 1;
        }
    }
    std::printf(\"%s: %zu kernels of demo-tensile %s\\n\", failed ? \"FAIL\" : \"PASS\",
                kernel_count(), DEMO_TENSILE_VERSION_STRING);
    return failed;
}
";

fn header(version: &str) -> String {
    let num = version_number(version);
    format!(
        "#ifndef DEMO_TENSILE_H
#define DEMO_TENSILE_H

#include <cstddef>
#include <cstdint>

#define DEMO_TENSILE_VERSION {num}
#define DEMO_TENSILE_VERSION_STRING \"{version}\"

namespace demo_tensile {{

struct Shape {{
    unsigned bits, m, n, k;
}};

struct Kernel {{
    const char *name;
    Shape shapes[3];
    std::uint64_t (*run)(std::uint64_t seed, std::size_t tiles);
}};

std::size_t kernel_count();
const Kernel &kernel(std::size_t i);

}}  // namespace demo_tensile

#endif
"
    )
}

fn kernel_file(i: usize) -> File {
    let calls = shapes(i)
        .iter()
        .map(|&(bits, m, n, k)| format!("gemm<{}, {m}, {n}, {k}>(seed, tiles)", element(bits)))
        .collect::<Vec<_>>()
        .join(" +\n           ");
    file(
        &format!("src/kernels/kernel_{i:03}.cpp"),
        format!(
            "// Generated by demo-tensile's kernel generator: do not edit.
#include <demo/tensile.h>
#include \"tensile_impl.hpp\"

namespace demo_tensile {{

std::uint64_t kernel_{i:03}(std::uint64_t seed, std::size_t tiles) {{
    return {calls};
}}

}}  // namespace demo_tensile
"
        ),
    )
}

fn table() -> File {
    let mut decls = String::new();
    let mut rows = String::new();
    for i in 0..TENSILE_KERNELS {
        decls.push_str(&format!(
            "std::uint64_t kernel_{i:03}(std::uint64_t seed, std::size_t tiles);\n"
        ));
        let shapes = shapes(i)
            .iter()
            .map(|(bits, m, n, k)| format!("{{{bits}, {m}, {n}, {k}}}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push_str(&format!(
            "    {{\"kernel_{i:03}\", {{{shapes}}}, kernel_{i:03}}},\n"
        ));
    }
    file(
        "src/table.cpp",
        format!(
            "// Generated by demo-tensile's kernel generator: do not edit.
#include <demo/tensile.h>

namespace demo_tensile {{

{decls}
static const Kernel kernels[] = {{
{rows}}};

std::size_t kernel_count() {{ return sizeof kernels / sizeof kernels[0]; }}

const Kernel &kernel(std::size_t i) {{ return kernels[i]; }}

}}  // namespace demo_tensile
"
        ),
    )
}

/// demo-tensile's files besides LICENSE, VERSION and README.md.
pub(super) fn upstream_files(version: &str) -> Vec<File> {
    let mut files = vec![
        file("Makefile", MAKEFILE),
        file("include/demo/tensile.h", header(version)),
        file("src/tensile_impl.hpp", IMPL),
        file("tests/test.cpp", TEST),
        table(),
    ];
    files.extend((0..TENSILE_KERNELS).map(kernel_file));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_is_in_the_table_and_has_its_file() {
        let files = upstream_files("7.2.4");
        let kernels: Vec<_> = files
            .iter()
            .filter(|f| f.path.starts_with("src/kernels/"))
            .collect();
        assert_eq!(kernels.len(), TENSILE_KERNELS);
        let table = &files
            .iter()
            .find(|f| f.path == "src/table.cpp")
            .unwrap()
            .content;
        for i in 0..TENSILE_KERNELS {
            assert!(table.contains(&format!("kernel_{i:03}}},")), "{i}");
        }
        assert!(kernels[7].content.contains("gemm<std::uint32_t, 8, 8, 11>"));
        let header = &files.iter().find(|f| f.path == "include/demo/tensile.h");
        assert!(
            header
                .unwrap()
                .content
                .contains("DEMO_TENSILE_VERSION 70204")
        );
    }
}
