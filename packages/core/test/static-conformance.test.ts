import { staticProvider } from '@disco/core';
import { describeProvider } from '@disco/testing';

describeProvider('static', () => staticProvider());
