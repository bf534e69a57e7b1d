# Backend registration. A backend is one source file (plus its asm, if any)
# and one call below; every program and test that needs backends loops over
# the registered lists, so no file list elsewhere names a backend.

define_property(GLOBAL PROPERTY GREEN_CONTEXT_BACKENDS
  BRIEF_DOCS "Context-switch backends built" FULL_DOCS "Names, in order of registration.")
define_property(GLOBAL PROPERTY GREEN_LOOP_BACKENDS
  BRIEF_DOCS "Event-loop backends built" FULL_DOCS "Names, in order of registration.")
define_property(GLOBAL PROPERTY GREEN_SKIPPED_BACKENDS
  BRIEF_DOCS "Backends not built" FULL_DOCS "name: reason")

# ThreadSanitizer cannot follow a stack switch, so a TSan build is for the
# pthread baselines alone: it registers no backend, and with no backend no
# green program or green test is built.
if(GREEN_SANITIZE MATCHES "thread")
  set(GREEN_NO_BACKENDS_WHY "a ThreadSanitizer build covers the thread baselines only")
endif()

# Stacks are registered with valgrind when its client-request header exists:
# every context backend shares stack.c, wherever its line is.
include(CheckIncludeFile)
check_include_file(valgrind/valgrind.h GREEN_HAVE_VALGRIND_H)

# The files that a user of an installed archive links for a backend's LIBS,
# into the global property GREEN_BACKEND_LINK_<kind>_<name>: an imported
# target's own libraries (pkg-config's paths; the target itself is visible
# only in the backend's directory), anything else as given. The installed
# CMake package's pair targets carry them (runtime/CMakeLists.txt).
function(_green_record_link kind name)
  set(paths "")
  foreach(lib IN LISTS ARGN)
    if(TARGET ${lib})
      get_target_property(l ${lib} INTERFACE_LINK_LIBRARIES)
      if(l)
        list(APPEND paths ${l})
      endif()
    else()
      list(APPEND paths ${lib})
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY GREEN_BACKEND_LINK_${kind}_${name} "${paths}")
endfunction()

# green_add_context_backend(NAME SOURCES f... [DEFINES d...] [LIBS l...] [IF cond-var])
# Builds the static library green_ctx_<NAME> from the backend's sources and the
# shared context.c/stack.c, or records why it was skipped.
function(green_add_context_backend name)
  cmake_parse_arguments(B "" "IF;WHY" "SOURCES;DEFINES;LIBS" ${ARGN})
  if(GREEN_NO_BACKENDS_WHY)
    set(B_IF GREEN_NO_BACKENDS)
    set(B_WHY ${GREEN_NO_BACKENDS_WHY})
  endif()
  if(DEFINED B_IF AND NOT ${B_IF})
    set_property(GLOBAL APPEND PROPERTY GREEN_SKIPPED_BACKENDS "context ${name}: ${B_WHY}")
    return()
  endif()
  add_library(green_ctx_${name} STATIC ${B_SOURCES}
    ${GREEN_CONTEXT_DIR}/context.c ${GREEN_CONTEXT_DIR}/stack.c)
  target_include_directories(green_ctx_${name} PUBLIC ${GREEN_CONTEXT_DIR})
  target_compile_definitions(green_ctx_${name} PRIVATE GREEN_CTX_NAME="${name}" ${B_DEFINES}
    $<$<BOOL:${GREEN_HAVE_VALGRIND_H}>:GREEN_USE_VALGRIND=1>)
  target_link_libraries(green_ctx_${name} PUBLIC ${B_LIBS})
  _green_record_link(ctx ${name} ${B_LIBS})
  set_property(GLOBAL APPEND PROPERTY GREEN_CONTEXT_BACKENDS ${name})
endfunction()

# green_add_loop_backend(NAME SOURCES f... [LIBS l...] [IF cond-var WHY text])
# A loop name has no dash: gb_programs_scan reads greenbench-cell-<switch>-<loop>
# up to the last dash, so "ev-copy" would make the program of switch "asm-ev"
# and loop "copy" (docs/extending.md, "A loop backend").
function(green_add_loop_backend name)
  cmake_parse_arguments(B "" "IF;WHY" "SOURCES;LIBS" ${ARGN})
  if(name MATCHES "-")
    message(FATAL_ERROR "green_add_loop_backend(${name}): a loop backend's name may not contain a "
                        "dash: greenbench-cell-<switch>-<loop> is split at its last dash, so "
                        "greenbench-cell-asm-${name} would be read as another switch and loop. "
                        "Name it without one (docs/extending.md, \"A loop backend\").")
  endif()
  if(GREEN_NO_BACKENDS_WHY)
    set(B_IF GREEN_NO_BACKENDS)
    set(B_WHY ${GREEN_NO_BACKENDS_WHY})
  endif()
  if(DEFINED B_IF AND NOT ${B_IF})
    set_property(GLOBAL APPEND PROPERTY GREEN_SKIPPED_BACKENDS "loop ${name}: ${B_WHY}")
    return()
  endif()
  add_library(green_loop_${name} STATIC ${B_SOURCES})
  target_include_directories(green_loop_${name} PUBLIC ${GREEN_LOOP_DIR})
  target_compile_definitions(green_loop_${name} PRIVATE GREEN_LOOP_NAME="${name}")
  target_link_libraries(green_loop_${name} PUBLIC ${B_LIBS})
  _green_record_link(loop ${name} ${B_LIBS})
  set_property(GLOBAL APPEND PROPERTY GREEN_LOOP_BACKENDS ${name})
endfunction()

# green_link_pair(TARGET CTX LOOP): link libgreen (the runtime objects) built
# for one context backend and one loop backend into TARGET.
function(green_link_pair target ctx loop)
  target_link_libraries(${target} PRIVATE green_runtime green_ctx_${ctx} green_loop_${loop})
endfunction()

function(green_print_backend_summary)
  get_property(ctx GLOBAL PROPERTY GREEN_CONTEXT_BACKENDS)
  get_property(loop GLOBAL PROPERTY GREEN_LOOP_BACKENDS)
  get_property(skipped GLOBAL PROPERTY GREEN_SKIPPED_BACKENDS)
  message(STATUS "greenbench: context backends: ${ctx}")
  message(STATUS "greenbench: loop backends:    ${loop}")
  foreach(s IN LISTS skipped)
    message(STATUS "greenbench: skipped ${s}")
  endforeach()
endfunction()
