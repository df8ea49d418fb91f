// Array views exchanged with Python through the buffer protocol / DLPack: the one set of aliases.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "common/common.h"

namespace ff {

// Read-only, C-contiguous CPU arrays of fixed rank (inputs).
template <class T>
using In1 = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T>
using In2 = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
// Writable, C-contiguous CPU arrays (caller-owned outputs or buffers).
template <class T>
using Mut1 = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
// A numpy array the core allocated and hands over (outputs).
template <class T>
using Out = nb::ndarray<nb::numpy, T>;

// A numpy array taking ownership of `v`, with `shape` (default: 1-D of v.size()).
template <class T>
Out<T> to_numpy(std::vector<T>&& v, std::initializer_list<size_t> shape = {}) {
  auto* heap = new std::vector<T>(std::move(v));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  std::vector<size_t> dims(shape);
  if (dims.empty()) dims.push_back(heap->size());
  return Out<T>(heap->data(), dims.size(), dims.data(), owner);
}

// A new numpy array of `shape`, uninitialised; *data points at its storage.
template <class T>
Out<T> new_array(std::initializer_list<size_t> shape, T** data) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  T* buf = new T[n > 0 ? n : 1];
  *data = buf;
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  std::vector<size_t> dims(shape);
  return Out<T>(buf, dims.size(), dims.data(), owner);
}

}  // namespace ff
