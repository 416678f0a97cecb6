# THJIT_STATIC_LLVM=ON: a build that runs on a machine without LLVM (the GPU
# machine: utils/pack-gpu.sh packs it, docs/gpu-backend.md). Every thjit
# library, LLVM's static component libraries, OpenBLAS's static library and
# libstdc++/libgcc go into one shared library, lib/libthjit_all.so, that
# thjit and the test programs link (RUNPATH $ORIGIN/../lib): one copy of
# LLVM for all of them. Their only other dependencies are glibc, libz and
# libzstd. Included from the top-level CMakeLists after find_package(LLVM)
# and the OpenBLAS target; thjit_link_shared_library() runs once every
# target exists.

# Every object goes into a shared library, or may.
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
# Neither the shared library nor the programs need the machine's libstdc++
# (or libgcc_s); the programs take what they can from libthjit_all.so.
add_link_options(-static-libstdc++ -static-libgcc)

# The components thjit uses: the ORC JIT and the host (X86) target for the
# CPU back end, NVPTX for the GPU one, the pass pipelines, the linker and
# bitcode reader (libdevice), the IR parser (the tests' GPU emulator) and
# the line editor (the REPL). Only the objects something references are
# linked from these archives.
llvm_map_components_to_libnames(THJIT_LLVM_LIBS
  orcjit native nvptxcodegen nvptxdesc nvptxinfo passes linker bitreader
  bitwriter ipo asmparser lineeditor)

# LLVMSupport names libz3.so (the Z3 constraint solver, which thjit never
# calls); libedit (the line editor) is linked statically with what it needs.
get_target_property(_thjit_support_deps LLVMSupport INTERFACE_LINK_LIBRARIES)
list(FILTER _thjit_support_deps EXCLUDE REGEX "z3")
set_property(TARGET LLVMSupport PROPERTY INTERFACE_LINK_LIBRARIES ${_thjit_support_deps})
foreach(_thjit_lib edit tinfo bsd md)
  find_library(THJIT_STATIC_${_thjit_lib} NAMES lib${_thjit_lib}.a REQUIRED)
endforeach()
if(TARGET LibEdit::LibEdit)
  set_property(TARGET LibEdit::LibEdit PROPERTY INTERFACE_LINK_LIBRARIES
    ${THJIT_STATIC_edit} ${THJIT_STATIC_tinfo} ${THJIT_STATIC_bsd} ${THJIT_STATIC_md})
endif()

# OpenBLAS's static library (the pthread variant's, as the shared one).
find_library(THJIT_OPENBLAS_STATIC NAMES libopenblas.a
  PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread NO_DEFAULT_PATH)
find_library(THJIT_OPENBLAS_STATIC NAMES libopenblas.a REQUIRED)
find_package(Threads REQUIRED)
set_target_properties(thjit::OpenBLAS PROPERTIES
  IMPORTED_LOCATION ${THJIT_OPENBLAS_STATIC}
  INTERFACE_LINK_LIBRARIES "Threads::Threads;m")

# Replaces every thjit library a program (or the tests' GPU emulator) links
# with libthjit_all.so.
function(thjit_link_shared_library)
  get_property(libs GLOBAL PROPERTY THJIT_LIBRARIES)
  file(WRITE ${CMAKE_BINARY_DIR}/thjit_all.cpp
       "// libthjit_all.so: its objects come from the thjit libraries.\n")
  add_library(thjitShared SHARED ${CMAKE_BINARY_DIR}/thjit_all.cpp)
  set_target_properties(thjitShared PROPERTIES OUTPUT_NAME thjit_all
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
  # All of every thjit library; of LLVM and OpenBLAS only what they use.
  set(whole)
  foreach(lib IN LISTS libs)
    list(APPEND whole $<TARGET_FILE:${lib}>)
  endforeach()
  target_link_options(thjitShared PRIVATE -Wl,--whole-archive ${whole}
                      -Wl,--no-whole-archive -Wl,--as-needed -Wl,-z,defs)
  # (PRIVATE: their archives and dependencies are on this library's link
  # line only; the programs get the headers and what glibc provides.)
  target_link_libraries(thjitShared PRIVATE ${libs})
  target_include_directories(thjitShared INTERFACE ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(thjitShared INTERFACE Threads::Threads ${CMAKE_DL_LIBS})
  target_link_options(thjitShared INTERFACE -Wl,--as-needed)

  # Every target of every directory.
  set(targets)
  set(dirs ${CMAKE_SOURCE_DIR})
  while(dirs)
    list(POP_FRONT dirs dir)
    get_property(sub DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${sub})
    get_property(t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    list(APPEND targets ${t})
  endwhile()
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "EXECUTABLE")
      set(props LINK_LIBRARIES)
    elseif(t STREQUAL "thjitGPUEmulator")
      set(props LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    else()
      continue()
    endif()
    foreach(prop IN LISTS props)
      get_target_property(old ${t} ${prop})
      if(NOT old)
        continue()
      endif()
      set(new)
      set(changed OFF)
      foreach(item IN LISTS old)
        if(item IN_LIST libs)
          if(NOT changed)
            list(APPEND new thjitShared)
          endif()
          set(changed ON)
        else()
          list(APPEND new ${item})
        endif()
      endforeach()
      if(changed)
        set_property(TARGET ${t} PROPERTY ${prop} ${new})
        if(type STREQUAL "EXECUTABLE")
          # Found relative to the program: bin/ and unittests/ have it in
          # ../lib, in the build tree, in a pack and installed (thjit).
          get_target_property(out ${t} RUNTIME_OUTPUT_DIRECTORY)
          if(NOT out)
            get_target_property(out ${t} BINARY_DIR)
          endif()
          file(RELATIVE_PATH rel ${out} ${CMAKE_BINARY_DIR}/lib)
          set_target_properties(${t} PROPERTIES INSTALL_RPATH_USE_LINK_PATH OFF
            INSTALL_RPATH "$ORIGIN/${rel}" BUILD_WITH_INSTALL_RPATH ON)
        endif()
      endif()
    endforeach()
  endforeach()
  install(TARGETS thjitShared LIBRARY DESTINATION lib)
endfunction()
