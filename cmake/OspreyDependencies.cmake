# Every third-party dependency comes from a Debian -dev package (installed by scripts/bootstrap).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Catch2 2 REQUIRED)

find_path(RAPIDJSON_INCLUDE_DIR rapidjson/document.h REQUIRED)
add_library(osprey_rapidjson INTERFACE)
target_include_directories(osprey_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIR})
target_compile_definitions(osprey_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
add_library(third_party::rapidjson ALIAS osprey_rapidjson)

find_program(OSPREY_PROTOC protoc REQUIRED)
find_program(OSPREY_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
