# `cmake --install build --prefix P`: the public headers (include/thjit), the
# libraries, the thjit tool, and a CMake package, so that another project does
#   find_package(thjit REQUIRED)
#   target_link_libraries(app PRIVATE thjit::thjit)
# (docs/install.md). Included from the top-level CMakeLists once every target
# exists.
include(CMakePackageConfigHelpers)

set(THJIT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/thjit)
get_property(THJIT_LIBRARIES GLOBAL PROPERTY THJIT_LIBRARIES)

# thjit::thjit: every library (static, so each brings its own dependencies:
# Threads, LLVM, OpenBLAS), and what a user needs to compile the headers.
add_library(thjitAll INTERFACE)
set_target_properties(thjitAll PROPERTIES EXPORT_NAME thjit)
target_link_libraries(thjitAll INTERFACE ${THJIT_LIBRARIES})
target_compile_features(thjitAll INTERFACE cxx_std_20)
# Libraries built with the sanitizers need their runtimes at the user's link.
if(THJIT_ENABLE_SANITIZERS)
  target_link_options(thjitAll INTERFACE -fsanitize=address,undefined)
endif()
add_library(thjit::thjit ALIAS thjitAll)

install(TARGETS ${THJIT_LIBRARIES} thjitAll EXPORT thjitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Only include/thjit is public; the headers under lib/ stay private.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/thjit
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.def")

# The tool, exported as thjit::tool for scripts run at build time. It finds
# libLLVM where it was linked from, also outside the loader's default paths.
set_target_properties(thjit PROPERTIES EXPORT_NAME tool
  INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS thjit EXPORT thjitTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

install(EXPORT thjitTargets NAMESPACE thjit::
  DESTINATION ${THJIT_INSTALL_CMAKEDIR})
get_filename_component(THJIT_OPENBLAS_DIR ${OPENBLAS_LIBRARY} DIRECTORY)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/thjitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/thjitConfig.cmake
  INSTALL_DESTINATION ${THJIT_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/thjitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/thjitConfig.cmake
              ${PROJECT_BINARY_DIR}/thjitConfigVersion.cmake
  DESTINATION ${THJIT_INSTALL_CMAKEDIR})
