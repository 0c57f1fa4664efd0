// The consumer's own runtime/runtime.hpp: corral must never include it in place of its own header.
#error "shadowed: corral picked up the consumer's runtime/runtime.hpp"
