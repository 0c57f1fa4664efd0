# Fails when the in-process facade (runtime.hpp, cache.hpp, configs, loaders) includes a header
# of CAF or Boost: those belong behind the library's own .cpp files and the CAF-facing header
# (runtime/caf_interop.hpp), so that a consumer compiles about half of what it did with them.
# Run by ctest with CXX, INCLUDE_DIR and SOURCE set.
execute_process(
  COMMAND ${CXX} -std=c++17 -I${INCLUDE_DIR} -H -fsyntax-only ${SOURCE}
  RESULT_VARIABLE status
  ERROR_VARIABLE includes)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${SOURCE} does not compile:\n${includes}")
endif()
string(REGEX MATCHALL "[^\n]*/(caf|boost)/[^\n]*" leaked "${includes}")
if(leaked)
  list(JOIN leaked "\n" shown)
  message(FATAL_ERROR "the public headers include CAF or Boost (-H output):\n${shown}")
endif()
