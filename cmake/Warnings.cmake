# Warnings and sanitizers shared by every target of the project.
add_compile_options(-Wall -Wextra -Wno-unused-parameter)
if(THJIT_ENABLE_SANITIZERS)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# thjit_add_library(NAME SOURCES... DEPENDS libs...): one library per lib/X.
# Each is installed and exported as thjit::X (NAME less its "thjit" prefix)
# by cmake/Install.cmake, which reads the list THJIT_LIBRARIES.
function(thjit_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  # Installed targets get include/ from install(TARGETS ... INCLUDES).
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS})
  string(REGEX REPLACE "^thjit" "" short ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${short})
  add_library(thjit::${short} ALIAS ${name})
  set_property(GLOBAL APPEND PROPERTY THJIT_LIBRARIES ${name})
endfunction()
