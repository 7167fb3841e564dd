# osprey_library(NAME <name> SRCS <files...> DEPS <targets...>)
#   Builds libs/<name> as target osprey_<name> with alias osprey::<name>. Public headers live in
#   include/osprey/<name>/; dependencies are declared explicitly, by alias.
# osprey_test(NAME <name> SRCS <files...> DEPS <targets...> [LABELS <labels...>])
#   A Catch2 test executable registered with CTest.
# osprey_proto_library(NAME <name> PROTOS <files relative to proto/> [GRPC] DEPS <targets...>)
#   Generates C++ (and gRPC stubs) into the build tree only.

set(OSPREY_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

function(osprey_apply_flags target)
  target_compile_options(${target} PRIVATE ${OSPREY_WARNINGS})
  if(OSPREY_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(osprey_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target osprey_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS})
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    osprey_apply_flags(${target})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(osprey::${ARG_NAME} ALIAS ${target})
endfunction()

function(osprey_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} osprey::test_main)
  osprey_apply_flags(${ARG_NAME})
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  set(labels unit ${ARG_LABELS})
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${labels}" TIMEOUT 300)
endfunction()

function(osprey_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME" "PROTOS;DEPS" ${ARGN})
  set(out_dir ${CMAKE_BINARY_DIR}/gen)
  set(proto_root ${PROJECT_SOURCE_DIR}/proto)
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    set(outputs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    set(command_args --proto_path=${proto_root} --proto_path=${Protobuf_INCLUDE_DIRS} --cpp_out=${out_dir})
    if(ARG_GRPC)
      list(APPEND outputs ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
      list(APPEND command_args --grpc_out=${out_dir} --plugin=protoc-gen-grpc=${OSPREY_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND ${OSPREY_PROTOC} ${command_args} ${proto_root}/${proto}
      DEPENDS ${proto_root}/${proto}
      COMMENT "protoc ${proto}")
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(osprey_${ARG_NAME} STATIC ${srcs})
  target_include_directories(osprey_${ARG_NAME} SYSTEM PUBLIC ${out_dir})
  target_link_libraries(osprey_${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(osprey_${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  add_library(osprey::${ARG_NAME} ALIAS osprey_${ARG_NAME})
endfunction()
