# Finds LLVM 19's lit and FileCheck (Debian package llvm-19-tools).
find_program(LLVM_EXTERNAL_LIT lit.py
  PATHS /usr/lib/llvm-19/build/utils/lit NO_DEFAULT_PATH)
find_program(THJIT_FILECHECK FileCheck PATHS /usr/lib/llvm-19/bin NO_DEFAULT_PATH)
if(NOT LLVM_EXTERNAL_LIT OR NOT THJIT_FILECHECK)
  message(FATAL_ERROR "lit or FileCheck not found: install llvm-19-tools "
                      "(utils/test.sh does)")
endif()
get_filename_component(THJIT_LLVM_TOOLS_DIR ${THJIT_FILECHECK} DIRECTORY)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
