#include "common/common.h"

#include <nanobind/stl/string.h>

#include <exception>

namespace ff {

void register_errors(nb::module_ m) {
  // NOTE: the class is looked up once and kept for the process: translators run without a module handle.
  static PyObject* input_error = [] {
    nb::object cls = nb::module_::import_("fireflyer.errors").attr("InputError");
    return cls.release().ptr();
  }();
  nb::register_exception_translator(
      [](const std::exception_ptr& p, void*) {
        try {
          std::rethrow_exception(p);
        } catch (const InputError& e) {
          nb::object cls = nb::borrow(input_error);
          nb::object field = e.field().empty() ? nb::none() : nb::cast(e.field());
          nb::object file = e.file().empty() ? nb::none() : nb::cast(e.file());
          nb::object exc = cls(e.what(), nb::arg("field") = field, nb::arg("file") = file);
          PyErr_SetObject(input_error, exc.ptr());
        }
      });
  m.attr("InputError") = nb::borrow(input_error);
}

}  // namespace ff
