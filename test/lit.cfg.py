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
