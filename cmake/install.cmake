# Install rules, the CMake package (corralConfig.cmake, corral::corral), corral.pc and the
# corral-dev .deb (cpack -G DEB). Included by the top-level CMakeLists.txt when CORRAL_INSTALL.
include(CMakePackageConfigHelpers)

set(CORRAL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/corral)

install(TARGETS corral EXPORT corralTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Every library header, folders kept: <prefix>/include/corral/runtime/engine/..., store/, ...
# The headers of a store that is not built are left out, so nobody includes what cannot link.
set(corral_header_excludes)
if(NOT CORRAL_WITH_POSTGRES)
  list(APPEND corral_header_excludes PATTERN postgres_store.hpp EXCLUDE)
endif()
if(NOT CORRAL_WITH_REDIS)
  list(APPEND corral_header_excludes PATTERN redis_store.hpp EXCLUDE)
endif()
install(DIRECTORY runtime store messages actors
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corral
        FILES_MATCHING PATTERN "*.hpp" ${corral_header_excludes})
install(FILES ${CORRAL_GENERATED_INCLUDE_DIR}/corral/store/built_stores.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/corral/store)

install(EXPORT corralTargets NAMESPACE corral:: DESTINATION ${CORRAL_CMAKE_DIR})
configure_package_config_file(cmake/corralConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/corralConfig.cmake
                              INSTALL_DESTINATION ${CORRAL_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/corralConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/corralConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/corralConfigVersion.cmake
              cmake/FindCAF.cmake cmake/FindHiredis.cmake
        DESTINATION ${CORRAL_CMAKE_DIR})

# corral.pc: the dependencies as link flags (see the comments in cmake/corral.pc.in).
set(CORRAL_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH CORRAL_PC_PREFIX_FROM_PCDIR /prefix/${CORRAL_PC_DIR} /prefix)
string(REGEX REPLACE "/$" "" CORRAL_PC_PREFIX_FROM_PCDIR "${CORRAL_PC_PREFIX_FROM_PCDIR}")
set(corral_pc_deps -lcaf_io -lcaf_core -lboost_json -lsqlite3 -lcpp-httplib)
if(CORRAL_WITH_POSTGRES)
  list(APPEND corral_pc_deps -lpq)
endif()
if(CORRAL_WITH_REDIS)
  list(APPEND corral_pc_deps -lhiredis)
endif()
list(APPEND corral_pc_deps -pthread)
list(JOIN corral_pc_deps " " corral_pc_deps)
set(CORRAL_PC_CFLAGS -pthread)
get_target_property(corral_type corral TYPE)
if(corral_type STREQUAL "STATIC_LIBRARY")
  set(CORRAL_PC_LIBS ${corral_pc_deps})
  set(CORRAL_PC_LIBS_PRIVATE "")
else()
  set(CORRAL_PC_LIBS "-lcaf_io -lcaf_core -lboost_json -pthread")
  set(CORRAL_PC_LIBS_PRIVATE ${corral_pc_deps})
endif()
configure_file(cmake/corral.pc.in ${CMAKE_CURRENT_BINARY_DIR}/corral.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/corral.pc DESTINATION ${CORRAL_PC_DIR})

install(FILES config/default.json DESTINATION ${CMAKE_INSTALL_DATADIR}/corral)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

# cpack -G DEB in the build directory: corral-dev_<version>_<arch>.deb, installing under /usr.
set(CPACK_PACKAGE_NAME corral)
set(CPACK_PACKAGE_VENDOR corral)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "embeddable C++17 caching runtime on CAF (development files)")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "corral keeps hot data in a service's memory and shields slow backends from load spikes: "
    "one load per key however many callers ask, TTLs, negative caching, stale serving and "
    "write-behind to SQLite, PostgreSQL or Redis. Static library, headers, CMake package "
    "(find_package(corral)) and pkg-config file.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_NAME corral-dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "corral maintainers <corral@localhost>")
# What the installed corralConfig.cmake finds, and the compiler consumers need for corral.pc.
set(corral_deb_depends libcaf-dev libboost-json${Boost_VERSION_MAJOR}.${Boost_VERSION_MINOR}-dev libsqlite3-dev
                       libcpp-httplib-dev pkg-config)
if(CORRAL_WITH_POSTGRES)
  list(APPEND corral_deb_depends libpq-dev)
endif()
if(CORRAL_WITH_REDIS)
  list(APPEND corral_deb_depends libhiredis-dev)
endif()
list(JOIN corral_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
set(CPACK_GENERATOR DEB)
include(CPack)
