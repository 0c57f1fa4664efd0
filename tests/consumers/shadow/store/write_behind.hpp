// The consumer's own store/write_behind.hpp: corral must never include it in place of its own
// header.
#error "shadowed: corral picked up the consumer's store/write_behind.hpp"
