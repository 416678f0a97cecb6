# lit configuration for thjit's regression tests: every *.th script under
# test/ is run by its `# RUN:` lines; output is checked with FileCheck.
import os

import lit.formats

config.name = "thjit"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".th", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.thjit_obj_root, "test")

path = os.pathsep.join([config.thjit_tools_dir, config.llvm_tools_dir,
                        config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path
# Scripts must not depend on the user's terminal or cache.
config.environment["THJIT_NO_COLOR"] = "1"
config.environment["THJIT_CACHE_DIR"] = os.path.join(config.thjit_obj_root,
                                                    "test-cache")
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%examples",
                             os.path.join(config.thjit_src_root, "examples")))
config.substitutions.append(("%benchmarks",
                             os.path.join(config.thjit_src_root, "benchmarks")))
config.substitutions.append(("%bindir", config.thjit_tools_dir))
# The documentation, and where CMake built its C++ samples (test/Docs).
config.substitutions.append(("%docs",
                             os.path.join(config.thjit_src_root, "docs")))
config.substitutions.append(("%doc-samples",
                             os.path.join(config.thjit_obj_root, "test",
                                          "Docs")))
# test/Install builds an out-of-tree project against an installed thjit.
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%thjit_build_dir", config.thjit_obj_root))
config.substitutions.append(("%thjit_src_dir", config.thjit_src_root))
config.substitutions.append(("%cxx_compiler", config.cxx_compiler))
config.substitutions.append(("%c_compiler", config.c_compiler))
# The REPL's tests type at it through a pseudo-terminal.
config.substitutions.append(("%pty", config.python_executable + " " +
                             os.path.join(config.thjit_src_root, "utils",
                                          "pty_session.py")))
# PTX is assembled by NVIDIA's ptxas where it is installed (feature `ptxas`,
# `%ptxas`), and kernels calling transcendentals need libdevice (feature
# `libdevice`): both are looked for where thjit and its unit tests look.
ptxas = os.environ.get("THJIT_PTXAS") or "/usr/local/cuda/bin/ptxas"
if os.access(ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
for var in ("THJIT_PTXAS", "THJIT_LIBDEVICE", "CUDA_HOME"):
    if os.environ.get(var):
        config.environment[var] = os.environ[var]
libdevice = os.environ.get("THJIT_LIBDEVICE")
if not libdevice and os.environ.get("CUDA_HOME"):
    libdevice = os.path.join(os.environ["CUDA_HOME"], "nvvm", "libdevice",
                             "libdevice.10.bc")
    if not os.path.isfile(libdevice):
        libdevice = None
libdevice = libdevice or "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc"
if os.path.isfile(libdevice):
    config.available_features.add("libdevice")
# The CUDA driver: tests of the host side of the GPU back end load the fake
# one the unit tests build (`%fakecuda`, see unittests/Runtime/FakeCUDA.cpp);
# tests that run kernels need a real device (feature `gpu`).
config.substitutions.append(("%fakecuda",
                             os.path.join(config.thjit_obj_root, "unittests",
                                          "libthjitFakeCUDA.so")))
for var in ("THJIT_CUDA_DRIVER", "THJIT_CUDA_DEVICE"):
    if os.environ.get(var):
        config.environment[var] = os.environ[var]
import subprocess
try:
    if subprocess.run([os.path.join(config.thjit_tools_dir, "thjit"), "--devices"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      env=config.environment, timeout=60).returncode == 0:
        config.available_features.add("gpu")
except (OSError, subprocess.TimeoutExpired):
    pass
